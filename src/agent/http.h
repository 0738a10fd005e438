/*
 * A small HTTP(S) client on libcurl for the agent and the admin CLI: one reusable connection,
 * http and https only, no redirects, connect and total timeouts, a hard cap on the response body,
 * optional trust of one CA file (e.g. the KBS's self-signed certificate) and an optional pinned
 * public key. The `kbs-session-id` cookie is captured from Set-Cookie by name and sent back
 * explicitly, so that no other cookie is ever stored or replayed.
 */
#ifndef CS_AGENT_HTTP_H
#define CS_AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define CS_HTTP_COOKIE_MAX                                                                         \
	16384 /* longest kbs-session-id value accepted (a sealed cookie may carry the token) */

struct cs_http_cfg {
	const char *ca_file;       /* PEM file to trust instead of the system store; NULL: system */
	const char *pinned_pubkey; /* CURLOPT_PINNEDPUBLICKEY: file or "sha256//..."; NULL: none */
	long connect_timeout_ms;   /* 0: 5 s */
	long timeout_ms;           /* whole request; 0: 30 s */
	size_t max_response;       /* response body cap; 0: 4 MiB */
};

struct cs_http {
	void *curl; /* owned CURL easy handle, reused across requests (keep-alive) */
	struct cs_http_cfg cfg;
};

struct cs_http_resp {
	long status;                         /* HTTP status, 0 before a response */
	struct cs_buf body;                  /* owned; capped at cfg.max_response */
	char cookie[CS_HTTP_COOKIE_MAX + 1]; /* kbs-session-id value from Set-Cookie, "" if none */
	char content_type[64];               /* media type without parameters, lower case */
};

/* Prepares a client; cfg is copied (its strings are borrowed and must outlive h). */
CS_MUST_USE enum cs_err cs_http_init(struct cs_http *h, const struct cs_http_cfg *cfg);
void cs_http_fini(struct cs_http *h);

void cs_http_resp_init(struct cs_http_resp *r, size_t max);
void cs_http_resp_fini(struct cs_http_resp *r);

/*
 * Sends one request. method is "GET", "POST" or "DELETE"; headers is a NULL-terminated list of
 * "Name: value" lines (borrowed; may be NULL); body may be NULL for no body. On CS_OK resp holds
 * the status (any status, including errors), body and captured cookie. CS_ERR_TIMEOUT,
 * CS_ERR_TOO_LARGE (body over the cap), CS_ERR_CERT (TLS verification or pin failure) or
 * CS_ERR_NETWORK otherwise.
 */
CS_MUST_USE enum cs_err cs_http_do(struct cs_http *h, const char *method, const char *url,
                                   const char *const *headers, const uint8_t *body, size_t len,
                                   struct cs_http_resp *resp);

/*
 * Parses one response header line (p, n): when it is `Set-Cookie: kbs-session-id=<value>...`,
 * copies the value (RFC 6265 cookie-octets, 1..CS_HTTP_COOKIE_MAX) NUL-terminated into out.
 * CS_ERR_NOT_FOUND for any other header or cookie, CS_ERR_PROTOCOL for a malformed value.
 */
CS_MUST_USE enum cs_err cs_http_parse_set_cookie(const char *p, size_t n,
                                                 char out[CS_HTTP_COOKIE_MAX + 1]);

/*
 * Copies the RFC 7807 `detail` of an error body into dst (printable ASCII only, truncated,
 * NUL-terminated), or the status text when there is none. For messages to the user.
 */
void cs_http_problem_detail(const struct cs_http_resp *resp, char *dst, size_t dstlen);

#endif
