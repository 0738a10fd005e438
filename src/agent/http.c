#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "agent/http.h"
#include "base/json.h"
#include "base/secret.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RESPONSE (4u << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct cs_http_resp *r = arg;
	size_t n = size * nmemb;

	/* A short count makes curl fail the transfer with CURLE_WRITE_ERROR. */
	if (cs_buf_append(&r->body, p, n) != CS_OK)
		return 0;
	return n;
}

static bool
prefix_ci(const char *p, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);

	return n >= k && strncasecmp(p, pfx, k) == 0;
}

enum cs_err
cs_http_parse_set_cookie(const char *p, size_t n, char out[CS_HTTP_COOKIE_MAX + 1])
{
	size_t i, v;

	if (!prefix_ci(p, n, "Set-Cookie:"))
		return CS_ERR_NOT_FOUND;
	i = strlen("Set-Cookie:");
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (!prefix_ci(p + i, n - i, "kbs-session-id="))
		return CS_ERR_NOT_FOUND;
	i += strlen("kbs-session-id=");
	for (v = i; v < n && p[v] != ';' && p[v] != '\r' && p[v] != '\n'; v++)
		if (!isgraph((unsigned char)p[v]) || p[v] == ',' || p[v] == '"' || p[v] == '\\')
			return CS_ERR_PROTOCOL; /* not a cookie-octet (RFC 6265 4.1.1) */
	if (v - i == 0 || v - i > CS_HTTP_COOKIE_MAX)
		return CS_ERR_PROTOCOL;
	memcpy(out, p + i, v - i);
	out[v - i] = '\0';
	return CS_OK;
}

/* Captures `Set-Cookie: kbs-session-id=<value>[; attrs]` and the Content-Type media type. */
static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct cs_http_resp *r = arg;
	size_t n = size * nmemb, i, v;

	if (prefix_ci(p, n, "HTTP/")) {
		/* A new response (e.g. after 100 Continue): forget what the previous one said. */
		r->cookie[0] = '\0';
		r->content_type[0] = '\0';
		return n;
	}
	if (prefix_ci(p, n, "Set-Cookie:")) {
		enum cs_err err = cs_http_parse_set_cookie(p, n, r->cookie);
		/* Another cookie is ignored; a malformed kbs-session-id fails the response. */
		return err == CS_OK || err == CS_ERR_NOT_FOUND ? n : 0;
	}
	if (prefix_ci(p, n, "Content-Type:")) {
		i = strlen("Content-Type:");
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		for (v = 0; i < n && v + 1 < sizeof(r->content_type); i++, v++) {
			if (p[i] == ';' || p[i] == ' ' || p[i] == '\r' || p[i] == '\n')
				break;
			r->content_type[v] = (char)tolower((unsigned char)p[i]);
		}
		r->content_type[v] = '\0';
	}
	return n;
}

enum cs_err
cs_http_init(struct cs_http *h, const struct cs_http_cfg *cfg)
{
	memset(h, 0, sizeof(*h));
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return CS_ERR_NETWORK;
	h->cfg = *cfg;
	if (h->cfg.connect_timeout_ms <= 0)
		h->cfg.connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (h->cfg.timeout_ms <= 0)
		h->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (h->cfg.max_response == 0)
		h->cfg.max_response = DEFAULT_MAX_RESPONSE;
	h->curl = curl_easy_init();
	return h->curl != NULL ? CS_OK : CS_ERR_NOMEM;
}

void
cs_http_fini(struct cs_http *h)
{
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void
cs_http_resp_init(struct cs_http_resp *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	cs_buf_init(&r->body, max);
}

void
cs_http_resp_fini(struct cs_http_resp *r)
{
	cs_buf_fini(&r->body);
	cs_wipe(r->cookie, sizeof(r->cookie)); /* a session cookie is a bearer credential */
	r->status = 0;
}

static enum cs_err
map_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return CS_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return CS_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return CS_ERR_TOO_LARGE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CERTPROBLEM:
		return CS_ERR_CERT;
	case CURLE_OUT_OF_MEMORY:
		return CS_ERR_NOMEM;
	default:
		return CS_ERR_NETWORK;
	}
}

enum cs_err
cs_http_do(struct cs_http *h, const char *method, const char *url, const char *const *headers,
           const uint8_t *body, size_t len, struct cs_http_resp *resp)
{
	CURL *c = h->curl;
	struct curl_slist *hl = NULL, *t;
	enum cs_err err = CS_ERR_NOMEM;
	CURLcode rc;

	cs_buf_reset(&resp->body);
	resp->body.max = h->cfg.max_response;
	resp->status = 0;
	resp->cookie[0] = '\0';
	resp->content_type[0] = '\0';

	curl_easy_reset(c);
	/* "Expect: 100-continue" would add a round trip to every POST. */
	if ((hl = curl_slist_append(hl, "Expect:")) == NULL)
		goto out;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, headers[i])) == NULL)
			goto out;
		hl = t;
	}
	err = CS_ERR_NETWORK;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->cfg.connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->cfg.timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->cfg.max_response) !=
	            CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
		goto out;
	if (h->cfg.ca_file != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg.ca_file) != CURLE_OK)
		goto out;
	if (h->cfg.pinned_pubkey != NULL &&
	    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, h->cfg.pinned_pubkey) != CURLE_OK)
		goto out;
	if (strcmp(method, "POST") == 0) {
		if (curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		                     body != NULL ? (const char *)body : "") != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK)
			goto out;
	} else if (strcmp(method, "DELETE") == 0) {
		if (curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE") != CURLE_OK)
			goto out;
	} else if (strcmp(method, "GET") != 0) {
		err = CS_ERR_INVAL;
		goto out;
	}
	rc = curl_easy_perform(c);
	if ((err = map_curl(rc)) != CS_OK)
		goto out;
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK)
		err = CS_ERR_NETWORK;
out:
	/* The handle must not keep pointers to the header list or to resp after we return. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	return err;
}

void
cs_http_problem_detail(const struct cs_http_resp *resp, char *dst, size_t dstlen)
{
	json_t *v = NULL;
	const char *s = NULL;
	size_t n = 0, k = 0;

	if (dstlen == 0)
		return;
	if (cs_json_parse(resp->body.p, resp->body.len, 64 * 1024, &v) == CS_OK &&
	    json_is_object(v) && cs_json_get_str(v, "detail", &s, &n) == CS_OK) {
		for (size_t i = 0; i < n && k + 1 < dstlen; i++)
			dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
		dst[k] = '\0';
	} else {
		snprintf(dst, dstlen, "HTTP status %ld", resp->status);
	}
	json_decref(v);
}
