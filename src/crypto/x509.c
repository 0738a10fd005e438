/*
 * X.509 over OpenSSL: parsing, chains verified to caller-pinned roots at a caller-given time, CRLs,
 * and extension lookup. The store holds only the caller's roots, never the system's, and partial
 * chains are not allowed, so an intermediate can never stand in for a root.
 */
#include "crypto/x509.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "crypto/internal.h"

/* Inputs above these sizes are not certificates or CRL sets custos handles. */
#define CERT_DER_MAX (64 * 1024)
#define PEM_MAX (4 * 1024 * 1024)
#define CHAIN_DEPTH_MAX 8
#define SET_MAX 64

struct cs_x509 {
	X509 *x; /* owned reference */
};

struct cs_x509_set {
	struct cs_x509 **v; /* owned wrappers, each holding its own X509 reference */
	size_t len;
};

struct cs_x509_crls {
	STACK_OF(X509_CRL) * s; /* owned */
};

/* Wraps x, taking the reference. Returns owned. */
static enum cs_err
wrap(X509 *x, struct cs_x509 **out)
{
	struct cs_x509 *c;

	ENSURE(x != NULL, CS_ERR_CERT);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		X509_free(x);
		return CS_ERR_NOMEM;
	}
	c->x = x;
	*out = c;
	return CS_OK;
}

enum cs_err
cs_x509_from_der(const uint8_t *p, size_t n, struct cs_x509 **out)
{
	const unsigned char *q = p;
	X509 *x;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	ENSURE(p != NULL && n > 0, CS_ERR_CERT);
	ENSURE(n <= CERT_DER_MAX, CS_ERR_TOO_LARGE);
	x = d2i_X509(NULL, &q, (long)n);
	ERR_clear_error();
	ENSURE(x != NULL, CS_ERR_CERT);
	if (q != p + n) {
		X509_free(x);
		return CS_ERR_TRAILING;
	}
	return wrap(x, out);
}

/* A read-only memory BIO over (p, n), for PEM input. */
static enum cs_err
pem_bio(const uint8_t *p, size_t n, BIO **bio)
{
	ENSURE(n <= PEM_MAX, CS_ERR_TOO_LARGE);
	ENSURE(p != NULL && n > 0, CS_ERR_CERT);
	*bio = BIO_new_mem_buf(p, (int)n);
	ENSURE(*bio != NULL, CS_ERR_NOMEM);
	return CS_OK;
}

#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----"

/* The length of the run of PEM whitespace (space, tab, CR, LF) that starts p. */
static size_t
ws_span(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

enum cs_err
cs_x509_from_pem(const uint8_t *p, size_t n, struct cs_x509 **out)
{
	BIO *bio;
	X509 *x;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	TRY(pem_bio(p, n, &bio));
	/* Exactly one block, at the very start: nothing the PEM reader would skip may precede it.
	 */
	if (n < sizeof(PEM_CERT_BEGIN) - 1 ||
	    memcmp(p, PEM_CERT_BEGIN, sizeof(PEM_CERT_BEGIN) - 1) != 0) {
		BIO_free(bio);
		return CS_ERR_CERT;
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (x != NULL) {
		/* What the reader left unread: only whitespace may follow the block. */
		char *rest = NULL;
		long left = BIO_get_mem_data(bio, &rest);

		if (left < 0 ||
		    (left > 0 && ws_span((const uint8_t *)rest, (size_t)left) != (size_t)left)) {
			BIO_free(bio);
			X509_free(x);
			return CS_ERR_TRAILING;
		}
	}
	BIO_free(bio);
	return wrap(x, out);
}

void
cs_x509_free(struct cs_x509 *c)
{
	if (c == NULL)
		return;
	X509_free(c->x);
	free(c);
}

enum cs_err
cs_x509_set_new(struct cs_x509_set **out)
{
	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = calloc(1, sizeof(**out));
	ENSURE(*out != NULL, CS_ERR_NOMEM);
	return CS_OK;
}

/* Appends x to s, taking the reference. */
static enum cs_err
set_push(struct cs_x509_set *s, X509 *x)
{
	struct cs_x509 **v, *c = NULL;

	if (s->len >= SET_MAX) {
		X509_free(x);
		return CS_ERR_TOO_LARGE;
	}
	TRY(wrap(x, &c));
	v = realloc(s->v, (s->len + 1) * sizeof(*v));
	if (v == NULL) {
		cs_x509_free(c);
		return CS_ERR_NOMEM;
	}
	s->v = v;
	s->v[s->len++] = c;
	return CS_OK;
}

enum cs_err
cs_x509_set_add(struct cs_x509_set *s, const struct cs_x509 *c)
{
	ENSURE(s != NULL && c != NULL, CS_ERR_INVAL);
	ENSURE(X509_up_ref(c->x) == 1, CS_ERR_CRYPTO);
	return set_push(s, c->x);
}

size_t
cs_x509_set_len(const struct cs_x509_set *s)
{
	return s != NULL ? s->len : 0;
}

const struct cs_x509 *
cs_x509_set_get(const struct cs_x509_set *s, size_t i)
{
	return s != NULL && i < s->len ? s->v[i] : NULL;
}

void
cs_x509_set_free(struct cs_x509_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->len; i++)
		cs_x509_free(s->v[i]);
	free(s->v);
	free(s);
}

/* True if the PEM reader stopped because no further block starts (a clean end of input). */
static bool
pem_clean_end(void)
{
	unsigned long e = ERR_peek_last_error();
	bool clean = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;

	ERR_clear_error();
	return clean;
}

enum cs_err
cs_x509_set_from_pem(const uint8_t *p, size_t n, struct cs_x509_set **out)
{
	struct cs_x509_set *s = NULL;
	enum cs_err err;
	BIO *bio;
	X509 *x;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	TRY(pem_bio(p, n, &bio));
	if ((err = cs_x509_set_new(&s)) != CS_OK)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if ((err = set_push(s, x)) != CS_OK)
			goto out;
	/* A damaged block is an error, not the end of the list. */
	err = CS_ERR_CERT;
	if (!pem_clean_end() || s->len == 0)
		goto out;
	*out = s;
	s = NULL;
	err = CS_OK;
out:
	ERR_clear_error();
	cs_x509_set_free(s);
	BIO_free(bio);
	return err;
}

/* Parses one DER CRL or one or more PEM CRLs into the (empty) stack s. */
static enum cs_err
crls_parse(const uint8_t *p, size_t n, STACK_OF(X509_CRL) * s)
{
	enum cs_err err = CS_ERR_CERT;
	X509_CRL *crl = NULL;
	BIO *bio = NULL;

	ENSURE(p != NULL && n > 0, CS_ERR_CERT);
	ENSURE(n <= PEM_MAX, CS_ERR_TOO_LARGE);
	if (p[0] == 0x30) { /* DER: one SEQUENCE, consumed whole */
		const unsigned char *q = p;
		crl = d2i_X509_CRL(NULL, &q, (long)n);
		if (crl == NULL)
			goto out;
		if (q != p + n) {
			err = CS_ERR_TRAILING;
			goto out;
		}
		if (sk_X509_CRL_push(s, crl) == 0) {
			err = CS_ERR_NOMEM;
			goto out;
		}
		crl = NULL;
	} else {
		if ((err = pem_bio(p, n, &bio)) != CS_OK)
			goto out;
		err = CS_ERR_CERT;
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
			if (sk_X509_CRL_num(s) >= SET_MAX || sk_X509_CRL_push(s, crl) == 0) {
				err = CS_ERR_TOO_LARGE;
				goto out;
			}
			crl = NULL;
		}
		if (!pem_clean_end() || sk_X509_CRL_num(s) == 0)
			goto out;
	}
	err = CS_OK;
out:
	ERR_clear_error();
	X509_CRL_free(crl);
	BIO_free(bio);
	return err;
}

enum cs_err
cs_x509_crls_add(struct cs_x509_crls *c, const uint8_t *p, size_t n)
{
	STACK_OF(X509_CRL) * tmp;
	enum cs_err err;

	ENSURE(c != NULL && c->s != NULL, CS_ERR_INVAL);
	tmp = sk_X509_CRL_new_null();
	ENSURE(tmp != NULL, CS_ERR_NOMEM);
	err = crls_parse(p, n, tmp);
	if (err == CS_OK && sk_X509_CRL_num(c->s) + sk_X509_CRL_num(tmp) > SET_MAX)
		err = CS_ERR_TOO_LARGE;
	/* All or nothing: move the new CRLs over only when every one parsed. */
	while (err == CS_OK && sk_X509_CRL_num(tmp) > 0) {
		X509_CRL *crl = sk_X509_CRL_shift(tmp);
		if (sk_X509_CRL_push(c->s, crl) == 0) {
			X509_CRL_free(crl);
			err = CS_ERR_NOMEM;
		}
	}
	sk_X509_CRL_pop_free(tmp, X509_CRL_free);
	return err;
}

enum cs_err
cs_x509_crls_from(const uint8_t *p, size_t n, struct cs_x509_crls **out)
{
	struct cs_x509_crls *c;
	enum cs_err err;

	ENSURE(out != NULL, CS_ERR_INVAL);
	*out = NULL;
	c = calloc(1, sizeof(*c));
	ENSURE(c != NULL, CS_ERR_NOMEM);
	if ((c->s = sk_X509_CRL_new_null()) == NULL) {
		free(c);
		return CS_ERR_NOMEM;
	}
	if ((err = cs_x509_crls_add(c, p, n)) != CS_OK) {
		cs_x509_crls_free(c);
		return err;
	}
	*out = c;
	return CS_OK;
}

void
cs_x509_crls_free(struct cs_x509_crls *c)
{
	if (c == NULL)
		return;
	sk_X509_CRL_pop_free(c->s, X509_CRL_free);
	free(c);
}

/*
 * With CRLs given, OpenSSL (CRL_CHECK_ALL) wants a CRL for every certificate in the chain; the
 * contract is that the CRLs given are applied to the certificates they cover (AMD publishes a CRL
 * for the ASK, none for the VCEK). So "no CRL for this certificate" alone is tolerated; a CRL that
 * is present but expired, badly signed or listing the certificate still fails.
 */
static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return ok;
}

static enum cs_err
map_verify_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return CS_ERR_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return CS_ERR_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return CS_ERR_CERT_REVOKED;
	default:
		return CS_ERR_CERT;
	}
}

enum cs_err
cs_x509_chain_verify_flags(const struct cs_x509 *leaf, const struct cs_x509_set *intermediates,
                           const struct cs_x509_set *roots, const struct cs_x509_crls *crls,
                           int64_t at, unsigned flags)
{
	enum cs_err err = CS_ERR_NOMEM;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509_VERIFY_PARAM *param;
	unsigned long vflags = 0;
	size_t i;
	int i_crl;

	ENSURE(leaf != NULL && roots != NULL && roots->len > 0, CS_ERR_INVAL);
	ENSURE((flags & ~(unsigned)CS_X509_STRICT) == 0, CS_ERR_INVAL);
	ENSURE(at >= 0 && (uint64_t)at <= (uint64_t)INT64_MAX, CS_ERR_INVAL);
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL)
		goto out;
	err = CS_ERR_CERT;
	for (i = 0; i < roots->len; i++)
		if (X509_STORE_add_cert(store, roots->v[i]->x) != 1)
			goto out;
	for (i = 0; intermediates != NULL && i < intermediates->len; i++)
		if (sk_X509_push(untrusted, intermediates->v[i]->x) == 0)
			goto out;
	if (crls != NULL) {
		for (i_crl = 0; i_crl < sk_X509_CRL_num(crls->s); i_crl++)
			if (X509_STORE_add_crl(store, sk_X509_CRL_value(crls->s, i_crl)) != 1)
				goto out;
		vflags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	}
	if (flags & CS_X509_STRICT)
		vflags |= X509_V_FLAG_X509_STRICT;
	X509_STORE_set_verify_cb(store, verify_cb);
	if (X509_STORE_CTX_init(ctx, store, leaf->x, untrusted) != 1)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	/* set_time also sets X509_V_FLAG_USE_CHECK_TIME; PARTIAL_CHAIN stays off. */
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	X509_VERIFY_PARAM_set_depth(param, CHAIN_DEPTH_MAX);
	if (X509_VERIFY_PARAM_set_flags(param, vflags) != 1 ||
	    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN) != 1)
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		err = map_verify_error(X509_STORE_CTX_get_error(ctx));
		goto out;
	}
	err = CS_OK; /* the only line that grants success */
out:
	ERR_clear_error();
	sk_X509_free(untrusted); /* borrowed references */
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

enum cs_err
cs_x509_chain_verify(const struct cs_x509 *leaf, const struct cs_x509_set *intermediates,
                     const struct cs_x509_set *roots, const struct cs_x509_crls *crls, int64_t at)
{
	return cs_x509_chain_verify_flags(leaf, intermediates, roots, crls, at, 0);
}

enum cs_err
cs_x509_pubkey(const struct cs_x509 *c, struct cs_key **out)
{
	ENSURE(c != NULL && out != NULL, CS_ERR_INVAL);
	*out = NULL;
	return cs_key_wrap_evp(X509_get_pubkey(c->x), out);
}

/* Dotted-decimal OID: at least two arcs of digits, no empty arc, at most 128 characters. */
static bool
oid_is_dotted(const char *s)
{
	size_t i, arcs = 1, digits = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 128)
			return false;
		if (s[i] == '.') {
			if (digits == 0)
				return false;
			arcs++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			digits++;
		} else {
			return false;
		}
	}
	return digits > 0 && arcs >= 2;
}

enum cs_err
cs_x509_ext(const struct cs_x509 *c, const char *oid, const uint8_t **p, size_t *n)
{
	const ASN1_OCTET_STRING *data;
	X509_EXTENSION *ext;
	ASN1_OBJECT *obj;
	int at, again;

	ENSURE(c != NULL && oid != NULL && p != NULL && n != NULL, CS_ERR_INVAL);
	ENSURE(oid_is_dotted(oid), CS_ERR_INVAL);
	obj = OBJ_txt2obj(oid, 1); /* dotted form only, never a name */
	ENSURE(obj != NULL, CS_ERR_INVAL);
	at = X509_get_ext_by_OBJ(c->x, obj, -1);
	again = at >= 0 ? X509_get_ext_by_OBJ(c->x, obj, at) : -1;
	ASN1_OBJECT_free(obj);
	ENSURE(at >= 0, CS_ERR_NOT_FOUND);
	/* RFC 5280 §4.2: a certificate must not include more than one instance of an extension. */
	ENSURE(again < 0, CS_ERR_CERT);
	ext = X509_get_ext(c->x, at);
	data = ext != NULL ? X509_EXTENSION_get_data(ext) : NULL;
	ENSURE(data != NULL, CS_ERR_CERT);
	*p = ASN1_STRING_get0_data(data);
	*n = (size_t)ASN1_STRING_length(data);
	return CS_OK;
}

enum cs_err
cs_x509_subject_cn(const struct cs_x509 *c, struct cs_buf *out)
{
	const X509_NAME *name;
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	enum cs_err err;
	int at, len;

	ENSURE(c != NULL && out != NULL, CS_ERR_INVAL);
	name = X509_get_subject_name(c->x);
	ENSURE(name != NULL, CS_ERR_CERT);
	at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	ENSURE(at >= 0, CS_ERR_NOT_FOUND);
	e = X509_NAME_get_entry(name, at);
	ENSURE(e != NULL, CS_ERR_CERT);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	ENSURE(len >= 0 && utf8 != NULL, CS_ERR_CERT);
	err = cs_buf_append(out, utf8, (size_t)len);
	OPENSSL_free(utf8);
	return err;
}

static enum cs_err
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t v;

	ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, CS_ERR_CERT);
	v = timegm(&tm);
	ENSURE(v != (time_t)-1, CS_ERR_CERT);
	*out = (int64_t)v;
	return CS_OK;
}

enum cs_err
cs_x509_validity(const struct cs_x509 *c, int64_t *not_before, int64_t *not_after)
{
	ENSURE(c != NULL && not_before != NULL && not_after != NULL, CS_ERR_INVAL);
	TRY(asn1_time_unix(X509_get0_notBefore(c->x), not_before));
	TRY(asn1_time_unix(X509_get0_notAfter(c->x), not_after));
	return CS_OK;
}

enum cs_err
cs_x509_to_der(const struct cs_x509 *c, struct cs_buf *out)
{
	unsigned char *der = NULL;
	enum cs_err err;
	int len;

	ENSURE(c != NULL && out != NULL, CS_ERR_INVAL);
	len = i2d_X509(c->x, &der);
	ENSURE(len > 0, CS_ERR_CRYPTO);
	err = cs_buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
	return err;
}

enum cs_err
cs_x509_fingerprint(const struct cs_x509 *c, uint8_t out[32])
{
	unsigned int len = 0;

	ENSURE(c != NULL && out != NULL, CS_ERR_INVAL);
	ENSURE(X509_digest(c->x, EVP_sha256(), out, &len) == 1 && len == 32, CS_ERR_CRYPTO);
	return CS_OK;
}
