/*
 * JSON Web Encryption (RFC 7516) for key release: enc A256GCM only; alg ECDH-ES+A256KW (P-256,
 * P-384, P-521; RFC 7518 §4.6), RSA-OAEP-256 (§4.3), RSA1_5 (§4.2, decrypt side resistant to
 * Bleichenbacher: a padding failure and a tag failure give the same error in the same way) and
 * dir with a 32-byte key (§4.5). Flattened JSON (RFC 7516 §7.2.2; Trustee's resource response)
 * and compact (§7.1; KServe's encrypted models) serializations.
 *
 * The protected header we emit is serialized with members sorted and no whitespace, e.g.
 *   {"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":"..","y":".."}}
 * because Trustee's guest client does not use the received "protected" string as the AAD but
 * re-serializes the parsed header (alg, enc, then the rest sorted; research/trustee.md §2). On
 * decryption the AAD is the "protected" member exactly as received (RFC 7516 §5.2 step 14).
 *
 * No "aad", no shared "unprotected" header, no "zip", no "crit", no general JSON serialization:
 * a JWE carrying any of them is refused (CS_ERR_UNSUPPORTED) rather than partly understood. The
 * one unprotected header accepted is the flattened per-recipient "header" holding only "epk"
 * and/or "kid" (python-jwcrypto puts epk there); its members may not repeat protected ones.
 */
#ifndef CS_JOSE_JWE_H
#define CS_JOSE_JWE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "jose/jwk.h"

/* Bit flags, so that an allow-list is their OR. */
enum cs_jwe_alg {
	CS_JWE_ECDH_ES_A256KW = 1u << 0,
	CS_JWE_RSA_OAEP_256 = 1u << 1,
	CS_JWE_RSA1_5 = 1u << 2,
	CS_JWE_DIR = 1u << 3,
};

enum cs_jwe_ser {
	CS_JWE_FLAT,    /* {"protected","encrypted_key","iv","ciphertext","tag"} */
	CS_JWE_COMPACT, /* five base64url parts joined by '.' */
};

#define CS_JWE_CEK_LEN 32
#define CS_JWE_HEADER_MAX 8192 /* bytes of the decoded protected header */

/* "ECDH-ES+A256KW" etc.; NULL for a value that is not exactly one flag. */
const char *cs_jwe_alg_name(enum cs_jwe_alg alg);
CS_MUST_USE enum cs_err cs_jwe_alg_from_name(const char *s, size_t n, enum cs_jwe_alg *alg);

/*
 * The key-management algorithm for a recipient JWK, as Trustee's KBS picks it: the JWK's "alg"
 * when present (it must be one of ours and fit the key), else by key type: EC ECDH-ES+A256KW,
 * RSA RSA-OAEP-256, oct of 32 bytes dir. CS_ERR_ALG otherwise.
 */
CS_MUST_USE enum cs_err cs_jwe_alg_for_jwk(const struct cs_jwk *jwk, enum cs_jwe_alg *alg);

/*
 * Encrypts (pt, n) to the recipient (borrowed; public part suffices, or the oct key for dir)
 * with alg (0: cs_jwe_alg_for_jwk) and appends the JWE in serialization ser to out. The KBS calls
 * this for every resource release. CEK and KEK are wiped.
 */
CS_MUST_USE enum cs_err cs_jwe_encrypt(const struct cs_jwk *recipient, enum cs_jwe_alg alg,
                                       enum cs_jwe_ser ser, const uint8_t *pt, size_t n,
                                       struct cs_buf *out);

/*
 * Decrypts the JWE (in, n) in either serialization (flattened JSON when the first byte is '{')
 * with the recipient's private key (borrowed), accepting only algorithms in allow (an OR of
 * flags) that also fit the key (and equal the JWK's "alg" when it has one). n is bounded by max.
 * On success appends the plaintext to pt (whose own cap bounds it); on failure pt is unchanged.
 * Errors: CS_ERR_TOO_LARGE, CS_ERR_ENCODING, CS_ERR_JSON*, CS_ERR_PROTOCOL (shape, lengths),
 * CS_ERR_ALG, CS_ERR_UNSUPPORTED, CS_ERR_KEY (epk not on the recipient's curve), and
 * CS_ERR_DECRYPT for every failure to recover the CEK or verify the tag.
 */
CS_MUST_USE enum cs_err cs_jwe_decrypt(const struct cs_jwk *recipient, unsigned allow,
                                       const uint8_t *in, size_t n, size_t max, struct cs_buf *pt);

/*
 * The ECDH-ES key derivation of RFC 7518 §4.6.2: Z = ECDH(priv, pub), then the Concat KDF with
 * AlgorithmID alg_id, PartyUInfo apu, PartyVInfo apv, and keydatalen out_len * 8. Exposed for
 * the RFC 7518 Appendix C test vector.
 */
CS_MUST_USE enum cs_err cs_jwe_ecdh_es_derive(const struct cs_key *priv, const struct cs_key *pub,
                                              const char *alg_id, const uint8_t *apu,
                                              size_t apu_len, const uint8_t *apv, size_t apv_len,
                                              uint8_t *out, size_t out_len);

#endif
