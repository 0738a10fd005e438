/*
 * X.509 certificates and chains. A chain verifies only to roots the caller pins, at a time the
 * caller gives; no root is ever taken from the evidence. Extensions are looked up by dotted OID
 * (AMD's VCEK carries the TCB and hardware ID in private extensions, Intel's PCK the FMSPC).
 */
#ifndef CS_CRYPTO_X509_H
#define CS_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"

struct cs_x509;      /* opaque: one certificate */
struct cs_x509_set;  /* opaque: an ordered list of certificates */
struct cs_x509_crls; /* opaque: a set of CRLs */

/*
 * One certificate from DER or PEM. Both are strict, for untrusted input (a VEK in evidence): the
 * DER is exactly one certificate (CS_ERR_TRAILING after it); the PEM text is exactly one
 * "CERTIFICATE" block at the start of the text and only whitespace after it (CS_ERR_CERT for
 * anything before it or a bad block, CS_ERR_TRAILING for anything else after it, a second block
 * included).
 * A file that may hold a chain is read with cs_x509_set_from_pem. Returns owned.
 */
CS_MUST_USE enum cs_err cs_x509_from_der(const uint8_t *p, size_t n, struct cs_x509 **out);
CS_MUST_USE enum cs_err cs_x509_from_pem(const uint8_t *p, size_t n, struct cs_x509 **out);
void cs_x509_free(struct cs_x509 *c);

/* A set from every PEM certificate in the text (at least one, else CS_ERR_CERT). Returns owned. */
CS_MUST_USE enum cs_err cs_x509_set_from_pem(const uint8_t *p, size_t n, struct cs_x509_set **out);
CS_MUST_USE enum cs_err cs_x509_set_new(struct cs_x509_set **out);
/* Adds a reference to c (c stays owned by the caller). */
CS_MUST_USE enum cs_err cs_x509_set_add(struct cs_x509_set *s, const struct cs_x509 *c);
size_t cs_x509_set_len(const struct cs_x509_set *s);
/* Borrowed. */
const struct cs_x509 *cs_x509_set_get(const struct cs_x509_set *s, size_t i);
void cs_x509_set_free(struct cs_x509_set *s);

/*
 * Verifies leaf up to one of roots (trust anchors, pinned by the caller) through intermediates
 * (may be NULL) at Unix time at: signatures, validity periods, basic constraints and key usage
 * of CAs. crls (may be NULL) are checked for every certificate they cover (CS_ERR_CERT_REVOKED);
 * a certificate whose issuer has no CRL among them is not checked, while a CRL that is present
 * but expired, not yet valid or badly signed fails the chain.
 * Returns CS_ERR_EXPIRED / CS_ERR_NOT_YET_VALID for time failures and CS_ERR_CERT otherwise.
 */
CS_MUST_USE enum cs_err cs_x509_chain_verify(const struct cs_x509 *leaf,
                                             const struct cs_x509_set *intermediates,
                                             const struct cs_x509_set *roots,
                                             const struct cs_x509_crls *crls, int64_t at);

/*
 * As cs_x509_chain_verify, with options. CS_X509_STRICT adds OpenSSL's X509_V_FLAG_X509_STRICT
 * (RFC 5280 profile checks); AMD's VCEK/VLEK fail it (no Authority Key Identifier), so it is off
 * by default. Unknown flag bits are CS_ERR_INVAL.
 */
#define CS_X509_STRICT 0x1u
CS_MUST_USE enum cs_err cs_x509_chain_verify_flags(const struct cs_x509 *leaf,
                                                   const struct cs_x509_set *intermediates,
                                                   const struct cs_x509_set *roots,
                                                   const struct cs_x509_crls *crls, int64_t at,
                                                   unsigned flags);

/* CRLs from DER or PEM (one or more PEM blocks). Returns owned. */
CS_MUST_USE enum cs_err cs_x509_crls_from(const uint8_t *p, size_t n, struct cs_x509_crls **out);
/* Adds the CRLs in (p, n), DER or PEM as above, to c; on failure c is unchanged. */
CS_MUST_USE enum cs_err cs_x509_crls_add(struct cs_x509_crls *c, const uint8_t *p, size_t n);
void cs_x509_crls_free(struct cs_x509_crls *c);

/* The certificate's public key, returned owned. */
CS_MUST_USE enum cs_err cs_x509_pubkey(const struct cs_x509 *c, struct cs_key **out);

/*
 * Finds the extension with dotted OID (e.g. "1.3.6.1.4.1.3704.1.3.1") and borrows its raw
 * extnValue contents (the DER inside the OCTET STRING) through *p, *n; CS_ERR_NOT_FOUND if absent.
 */
CS_MUST_USE enum cs_err cs_x509_ext(const struct cs_x509 *c, const char *oid, const uint8_t **p,
                                    size_t *n);

/* Appends the subject's commonName (UTF-8); CS_ERR_NOT_FOUND if none. */
CS_MUST_USE enum cs_err cs_x509_subject_cn(const struct cs_x509 *c, struct cs_buf *out);
/* notBefore / notAfter as Unix time. */
CS_MUST_USE enum cs_err cs_x509_validity(const struct cs_x509 *c, int64_t *not_before,
                                         int64_t *not_after);
/* Appends the DER encoding. */
CS_MUST_USE enum cs_err cs_x509_to_der(const struct cs_x509 *c, struct cs_buf *out);
/* SHA-256 of the DER encoding. */
CS_MUST_USE enum cs_err cs_x509_fingerprint(const struct cs_x509 *c, uint8_t out[32]);

#endif
