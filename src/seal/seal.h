/*
 * Sealed models: sealing, unsealing and random access over the format in seal/format.h
 * (docs/sealed-format.md). Decryption runs in parallel (pthreads; each thread its own GCM context
 * and pread), straight into caller memory; plaintext never goes to a named file. A chunk's
 * plaintext reaches the caller only after its tag verifies; on any failure the destination is
 * wiped before the call returns, so no byte of a chunk that failed authentication is released.
 */
#ifndef CS_SEAL_SEAL_H
#define CS_SEAL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "seal/format.h"

/* Progress: done of total bytes (total 0 when unknown). Called from the calling thread. */
typedef void (*cs_seal_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct cs_seal_opts {
	unsigned threads;             /* 0: the number of online CPUs */
	unsigned chunk_log2;          /* sealing only; 0: CS_SEAL_CHUNK_LOG2_DEFAULT */
	cs_seal_progress_fn progress; /* optional */
	void *progress_arg;
	int want_sha256; /* compute the plaintext SHA-256 (costs one extra pass) */
};

struct cs_seal_result {
	uint64_t plaintext_len;
	uint8_t plaintext_sha256[32]; /* when opts->want_sha256 */
	uint8_t header_sha256[32];    /* SHA-256 of the 512-byte header written or read */
};

/*
 * Seals in_fd (a file or a pipe) to out_fd under a fresh DEK wrapped by kek. When in_fd is a
 * regular file its length is known up front and out_fd may be a pipe; otherwise out_fd must be
 * seekable (the header, which holds the length, is rewritten at the end), else CS_ERR_UNSUPPORTED.
 * Both regular files (and no digest asked for): chunks go in parallel (pread, seal, pwrite).
 * Memory: O(threads x chunk). Borrows both fds.
 */
CS_MUST_USE enum cs_err cs_seal_stream(int in_fd, int out_fd, const uint8_t kek[CS_SEAL_KEY_LEN],
                                       const char *key_id, const struct cs_seal_opts *opts,
                                       struct cs_seal_result *res);

/*
 * Unseals in_fd to out_fd. Each chunk is written only after it verifies, but a failure late in the
 * file leaves the verified plaintext before it in out_fd: the caller removes a partial output (the
 * CLI does). From a pipe, chunks are read sequentially and truncation (CS_ERR_TRUNCATED) or
 * extension (CS_ERR_TRAILING) shows at the end; when both fds are regular files (and no digest is
 * asked for) the size is checked first and the chunks go in parallel (pread, decrypt, pwrite).
 * Borrows both fds.
 */
CS_MUST_USE enum cs_err cs_unseal_stream(int in_fd, int out_fd, const uint8_t kek[CS_SEAL_KEY_LEN],
                                         const struct cs_seal_opts *opts,
                                         struct cs_seal_result *res);

/*
 * Rotation (§4.3): reads the header of the sealed file at fd (pread at 0), opens it with old_kek
 * and computes in new_header the header with the DEK wrapped under new_kek and new_key_id. Writes
 * nothing: the caller puts new_header at offset 0 (in place: one 512-byte pwrite; or a copy with
 * the chunks copied verbatim). No chunk byte is read. Borrows fd.
 */
CS_MUST_USE enum cs_err cs_seal_rewrap_fd(int fd, const uint8_t old_kek[CS_SEAL_KEY_LEN],
                                          const uint8_t new_kek[CS_SEAL_KEY_LEN],
                                          const char *new_key_id,
                                          uint8_t new_header[CS_SEAL_HEADER_LEN]);

/* ---- random access ---- */

struct cs_seal_file;

/*
 * Opens a sealed file for random access: reads and parses the header, checks its MAC and key
 * commitment under kek, and checks that the file's size is exactly what the header implies
 * (CS_ERR_TRUNCATED / CS_ERR_TRAILING). No chunk is read yet. The _fd form borrows fd (which must
 * support pread and stay open); the path form owns its descriptor. Returns owned *out.
 */
CS_MUST_USE enum cs_err cs_seal_file_open_fd(int fd, const uint8_t kek[CS_SEAL_KEY_LEN],
                                             struct cs_seal_file **out);
CS_MUST_USE enum cs_err cs_seal_file_open(const char *path, const uint8_t kek[CS_SEAL_KEY_LEN],
                                          struct cs_seal_file **out);
/* Takes f; wipes its keys. NULL is a no-op. */
void cs_seal_file_close(struct cs_seal_file *f);

/* Borrowed from f. */
const struct cs_seal_header *cs_seal_file_header(const struct cs_seal_file *f);
/* SHA-256 of the raw header (what a manifest records). */
void cs_seal_file_header_sha256(const struct cs_seal_file *f, uint8_t out[32]);

/*
 * Reads chunks through a read-only shared mapping of the sealed file instead of preadv, saving
 * the read system calls. Each chunk is still copied out of the mapping before it is decrypted, so
 * a concurrent writer cannot change ciphertext between GCM's tag pass and its decryption pass. The
 * caveat of any mapping: if the file is truncated by someone else while it is read, the process
 * gets SIGBUS instead of an error. Off by default; the model-load figures in BENCHMARKS.md
 * compare both.
 */
CS_MUST_USE enum cs_err cs_seal_file_set_mmap(struct cs_seal_file *f, int on);

/* Sets the worker count for the calls below (0: online CPUs). */
void cs_seal_file_set_threads(struct cs_seal_file *f, unsigned threads);

/*
 * Decrypts plaintext [off, off + len) into dst (borrowed caller memory), in parallel. Every
 * chunk the range touches is authenticated in full. On failure dst is wiped. CS_ERR_INVAL when
 * the range exceeds the plaintext.
 */
CS_MUST_USE enum cs_err cs_seal_file_read(struct cs_seal_file *f, uint64_t off, void *dst,
                                          size_t len);

/*
 * Decrypts the whole file into a fresh private anonymous mapping (excluded from core dumps) and
 * returns it owned through *out (*len bytes; an empty file gives *out == NULL, *len == 0).
 * Release with cs_seal_unmap, which wipes it.
 */
CS_MUST_USE enum cs_err cs_seal_file_map(struct cs_seal_file *f, void **out, size_t *len);
void cs_seal_unmap(void *p, size_t len);

/*
 * Decrypts the whole file into a new memfd (no name in any filesystem, close-on-exec, sealed
 * against growing, shrinking and writing once filled) and returns it owned through *fd.
 */
CS_MUST_USE enum cs_err cs_seal_file_memfd(struct cs_seal_file *f, int *fd);

/*
 * Streams the whole file in order, chunk by chunk, to sink (e.g. to copy each piece into a pinned
 * host buffer and on to the GPU). Chunks are decrypted by the workers in batches of 2 x threads
 * into private buffers (memory O(threads x chunk)); sink runs on the calling thread, only with
 * authenticated plaintext, which it borrows for the call. A non-CS_OK return from sink stops the
 * stream and is returned. The buffers are wiped before the call returns.
 */
typedef enum cs_err (*cs_seal_sink_fn)(void *arg, uint64_t off, const uint8_t *p, size_t n);
CS_MUST_USE enum cs_err cs_seal_file_stream(struct cs_seal_file *f, cs_seal_sink_fn sink,
                                            void *arg);

/* Online CPUs, at least 1. */
unsigned cs_seal_cpus(void);

#endif
