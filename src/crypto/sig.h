/*
 * Signatures. ECDSA signatures come in three encodings: raw big-endian r||s (JWS), raw
 * little-endian r||s (AMD SEV-SNP reports, each half zero-extended to 72 bytes in the report) and
 * DER (X.509, Intel). Verification returns CS_OK only for a valid signature; any failure,
 * including a malformed signature, is CS_ERR_SIGNATURE.
 */
#ifndef CS_CRYPTO_SIG_H
#define CS_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/hash.h"
#include "crypto/key.h"

enum cs_ecdsa_fmt {
	CS_ECDSA_RAW_BE, /* r||s, each the curve's coordinate length, big-endian */
	CS_ECDSA_RAW_LE, /* r||s, each half of siglen, little-endian (half may exceed coord length)
	                  */
	CS_ECDSA_DER,    /* ASN.1 SEQUENCE { INTEGER r, INTEGER s } */
};

/* ECDSA over the digest h(msg). The key's curve must be P-256, P-384 or P-521. */
CS_MUST_USE enum cs_err cs_ecdsa_verify(const struct cs_key *k, enum cs_hash h, const uint8_t *msg,
                                        size_t n, const uint8_t *sig, size_t siglen,
                                        enum cs_ecdsa_fmt fmt);
/* ECDSA over an already computed digest (e.g. the SNP report's SHA-384). */
CS_MUST_USE enum cs_err cs_ecdsa_verify_digest(const struct cs_key *k, const uint8_t *dgst,
                                               size_t dlen, const uint8_t *sig, size_t siglen,
                                               enum cs_ecdsa_fmt fmt);
/* Appends a raw big-endian r||s signature (2 * coordinate length bytes). */
CS_MUST_USE enum cs_err cs_ecdsa_sign(const struct cs_key *k, enum cs_hash h, const uint8_t *msg,
                                      size_t n, struct cs_buf *sig);

/* RSASSA-PSS with MGF1 over the same hash; salt_len bytes of salt (-1: the hash length). */
CS_MUST_USE enum cs_err cs_rsa_pss_verify(const struct cs_key *k, enum cs_hash h, int salt_len,
                                          const uint8_t *msg, size_t n, const uint8_t *sig,
                                          size_t siglen);
CS_MUST_USE enum cs_err cs_rsa_pss_sign(const struct cs_key *k, enum cs_hash h, int salt_len,
                                        const uint8_t *msg, size_t n, struct cs_buf *sig);
/* RSASSA-PKCS1-v1_5. */
CS_MUST_USE enum cs_err cs_rsa_pkcs1_verify(const struct cs_key *k, enum cs_hash h,
                                            const uint8_t *msg, size_t n, const uint8_t *sig,
                                            size_t siglen);
CS_MUST_USE enum cs_err cs_rsa_pkcs1_sign(const struct cs_key *k, enum cs_hash h,
                                          const uint8_t *msg, size_t n, struct cs_buf *sig);

/* Ed25519 (pure). Signatures are 64 bytes. */
CS_MUST_USE enum cs_err cs_ed25519_verify(const struct cs_key *k, const uint8_t *msg, size_t n,
                                          const uint8_t *sig, size_t siglen);
CS_MUST_USE enum cs_err cs_ed25519_sign(const struct cs_key *k, const uint8_t *msg, size_t n,
                                        struct cs_buf *sig);

#endif
