/*
 * Sealed model directories (docs/sealed-format.md §5): every regular file of a model directory
 * (config.json, tokenizer files, *.safetensors shards and their index, ...) sealed under its own
 * DEK with the same relative name, plus a manifest listing each file's name, size, plaintext
 * SHA-256 and sealed-header SHA-256, MAC'd under a key derived from the KEK. A reader that opens
 * the directory through cs_seal_dir_open sees a file swapped, dropped or added as CS_ERR_MANIFEST.
 */
#ifndef CS_SEAL_DIR_H
#define CS_SEAL_DIR_H

#include "seal/seal.h"

/*
 * Seals the tree under in_dir into out_dir (created; it must not exist). Symbolic links to
 * regular files are followed (Hugging Face cache snapshots are links into blobs/); any other
 * non-regular file is CS_ERR_UNSUPPORTED. On failure everything created under out_dir and out_dir
 * itself are removed.
 */
CS_MUST_USE enum cs_err cs_seal_dir(const char *in_dir, const char *out_dir,
                                    const uint8_t kek[CS_SEAL_KEY_LEN], const char *key_id,
                                    const struct cs_seal_opts *opts);

struct cs_seal_dir;

/*
 * Opens a sealed directory: reads the manifest, checks its MAC under kek, checks that the
 * directory holds exactly the listed files (none missing, none extra) and that each file's header
 * digest and length are what the manifest says. Returns owned *out.
 */
CS_MUST_USE enum cs_err cs_seal_dir_open(const char *dir, const uint8_t kek[CS_SEAL_KEY_LEN],
                                         struct cs_seal_dir **out);
void cs_seal_dir_close(struct cs_seal_dir *d);

/* The verified manifest; borrowed from d. */
const struct cs_seal_manifest *cs_seal_dir_manifest(const struct cs_seal_dir *d);

/* Opens one listed file for random access; re-checks its header digest against the manifest
 * (CS_ERR_MANIFEST) so a file swapped after cs_seal_dir_open is still caught. */
CS_MUST_USE enum cs_err cs_seal_dir_file(struct cs_seal_dir *d, const char *name,
                                         struct cs_seal_file **out);

/*
 * Unseals every file into out_dir (created, must not exist; files 0600), checking each file's
 * plaintext SHA-256 against the manifest. For the operator's CLI; a model server reads with
 * cs_seal_dir_file instead, into memory. On failure out_dir is removed.
 */
CS_MUST_USE enum cs_err cs_unseal_dir(const char *in_dir, const char *out_dir,
                                      const uint8_t kek[CS_SEAL_KEY_LEN],
                                      const struct cs_seal_opts *opts);

/*
 * Rotation of a whole directory in place: rewrites every file's header and the manifest under
 * new_kek / new_key_id. No chunk byte changes. Every new header is computed first (each file's
 * header must still be the one the manifest lists); then each header is replaced by one pwrite and
 * the manifest by write-to-temporary and rename. On failure the old headers are written back, so
 * the directory still opens under old_kek (a crash midway still leaves it half-rotated).
 */
CS_MUST_USE enum cs_err cs_seal_dir_rewrap(const char *dir, const uint8_t old_kek[CS_SEAL_KEY_LEN],
                                           const uint8_t new_kek[CS_SEAL_KEY_LEN],
                                           const char *new_key_id);

/* Whether path names a directory. */
int cs_seal_is_dir(const char *path);

#endif
