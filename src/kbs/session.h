/*
 * Sessions that any replica can serve: the whole session state travels in the kbs-session-id
 * cookie, sealed with AES-256-GCM under a key the replicas share (session.key in the data dir,
 * or the file the configuration names). Nothing is kept per session on the server except the
 * consumed-nonce record in the shared store, which makes each challenge good for one attestation.
 *
 * Cookie value: base64url( 0x01 | iv[12] | ciphertext | tag[16] ), AAD "custos-kbs-session-v1".
 * Plaintext (big-endian): state u8 | tee_len u8 | tee | nonce[32] | expires i64 | token_len u32 |
 * token. A challenged session has no token; an attested one carries its EAR token, so that the
 * cookie path of GET /resource works on any replica (the token is verified there on every use).
 */
#ifndef CS_KBS_SESSION_H
#define CS_KBS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define CS_SESSION_KEY_LEN 32
#define CS_SESSION_NONCE_LEN 32
#define CS_SESSION_TEE_MAX 31
#define CS_SESSION_TOKEN_MAX 16384  /* tokens larger than this are not put in a cookie */
#define CS_SESSION_COOKIE_MAX 24000 /* characters of a cookie value we try to open */

enum cs_session_state {
	CS_SESSION_CHALLENGED = 1,
	CS_SESSION_ATTESTED = 2,
};

struct cs_session {
	enum cs_session_state state;
	char tee[CS_SESSION_TEE_MAX + 1];
	uint8_t nonce[CS_SESSION_NONCE_LEN];
	int64_t expires; /* Unix seconds */
	char *token;     /* owned, NUL-terminated; NULL unless attested */
	size_t token_len;
};

void cs_session_fini(struct cs_session *s);

/* Appends the sealed cookie value for s (borrowed) to out. */
CS_MUST_USE enum cs_err cs_session_seal(const uint8_t key[CS_SESSION_KEY_LEN],
                                        const struct cs_session *s, struct cs_buf *out);

/*
 * Opens a cookie value into *out (initialised here; cs_session_fini it). CS_ERR_SESSION for
 * anything forged, tampered, truncated or malformed; CS_ERR_EXPIRED when expires <= now.
 */
CS_MUST_USE enum cs_err cs_session_open(const uint8_t key[CS_SESSION_KEY_LEN], const char *v,
                                        size_t n, int64_t now, struct cs_session *out);

/*
 * Parses the plaintext layout above (after the tag verified) into *out, which the caller zeroes
 * beforehand and cs_session_fini()s after, also on failure. Pure; exposed for the fuzz target.
 */
CS_MUST_USE enum cs_err cs_session_parse(const uint8_t *p, size_t n, struct cs_session *out);

/* Loads the 32-byte key from path, creating it (random, 0600) when absent: written whole to a
 * temporary file and linked into place, so a concurrent reader never sees a partial key. */
CS_MUST_USE enum cs_err cs_session_key_load(const char *path, uint8_t key[CS_SESSION_KEY_LEN]);

#endif
