#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/cdh.h"
#include "base/b64.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/secret.h"

#define CDH_RESOURCE_PREFIX "/cdh/resource/"
#define RUNTIME_DATA_MAX CS_REPORT_DATA_LEN

struct cs_cdh {
	struct MHD_Daemon *d;
	struct cs_rcar *rcar; /* the cached session; every use holds lock */
	const struct cs_tee_ops *tee;
	pthread_mutex_t lock;
	uint16_t port;
};

enum cs_err
cs_cdh_parse_listen(const char *s, uint32_t *addr_be, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	unsigned long p = 0;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - s)) == 0 || hl >= sizeof(host))
		return CS_ERR_INVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1)
		return CS_ERR_INVAL;
	if (colon[1] == '\0')
		return CS_ERR_INVAL;
	for (const char *q = colon + 1; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return CS_ERR_INVAL;
		p = p * 10 + (unsigned long)(*q - '0');
		if (p > 65535)
			return CS_ERR_INVAL;
	}
	*addr_be = a.s_addr;
	*port = (uint16_t)p;
	return CS_OK;
}

/* A response body that held a secret: wiped when MHD is done with it. */
struct secret_body {
	size_t n;
	uint8_t p[];
};

static void
free_secret_body(void *cls)
{
	struct secret_body *sb = cls;

	cs_wipe(sb->p, sb->n);
	free(sb);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, const void *p, size_t n,
      bool secret)
{
	struct MHD_Response *r;
	struct secret_body *sb;
	enum MHD_Result ret;

	if (secret) {
		/* Our own copy, so that MHD's is wiped too; the caller wipes its buffer. */
		if ((sb = malloc(sizeof(*sb) + n + 1)) == NULL)
			return MHD_NO;
		sb->n = n;
		memcpy(sb->p, p, n);
		r = MHD_create_response_from_buffer_with_free_callback_cls(n, sb->p,
		                                                           free_secret_body, sb);
		if (r == NULL)
			free_secret_body(sb);
	} else {
		r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An error as text; the message is one of ours (cs_err_str) or the broker's RFC 7807 detail. */
static enum MHD_Result
reply_err(struct MHD_Connection *conn, unsigned status, enum cs_err err, const char *detail)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s%s%s\n", cs_err_str(err),
	                 detail && detail[0] ? ": " : "", detail ? detail : "");

	return reply(conn, status, "text/plain", msg, n > 0 ? (size_t)n : 0, false);
}

static unsigned
http_status(enum cs_err err)
{
	switch (err) {
	case CS_ERR_PATH:
	case CS_ERR_INVAL:
		return 400;
	case CS_ERR_DENIED:
		return 403;
	case CS_ERR_NOT_FOUND:
		return 404;
	case CS_ERR_UNAUTHENTICATED:
	case CS_ERR_VERIFY:
		return 401;
	default:
		return 502; /* the broker or the network failed us */
	}
}

/* Makes sure the cached session holds a token good for CS_CDH_REFRESH_S more seconds. */
static enum cs_err
fresh_token(struct cs_cdh *c)
{
	int64_t exp;
	const char *tok = cs_rcar_token(c->rcar, &exp);

	if (tok != NULL && (exp == 0 || exp > cs_clock_now() + CS_CDH_REFRESH_S))
		return CS_OK;
	return cs_rcar_attest(c->rcar);
}

static enum MHD_Result
get_resource(struct cs_cdh *c, struct MHD_Connection *conn, const char *path)
{
	struct cs_buf out;
	enum cs_err err;
	enum MHD_Result ret;
	char detail[CS_RCAR_DETAIL_MAX];

	if ((err = cs_rcar_check_path(path)) != CS_OK)
		return reply_err(conn, 400, err, NULL);
	cs_buf_init(&out, CS_RCAR_RESOURCE_MAX);
	pthread_mutex_lock(&c->lock);
	err = fresh_token(c);
	if (err == CS_OK)
		err = cs_rcar_get_resource(c->rcar, path, &out);
	memcpy(detail, cs_rcar_detail(c->rcar), sizeof(detail));
	pthread_mutex_unlock(&c->lock);
	if (err == CS_OK)
		ret = reply(conn, 200, "application/octet-stream", out.p, out.len, true);
	else
		ret = reply_err(conn, http_status(err), err, detail);
	cs_buf_fini(&out); /* wipes the secret */
	return ret;
}

/* Counts the query arguments and those not in the NULL-terminated list allowed. */
struct arg_check {
	const char *const *allowed;
	unsigned n, unknown;
};

static enum MHD_Result
count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct arg_check *a = cls;
	bool ok = false;

	(void)kind;
	(void)value;
	a->n++;
	for (size_t i = 0; a->allowed[i] != NULL; i++)
		ok |= strcmp(key, a->allowed[i]) == 0;
	if (!ok)
		a->unknown++;
	return MHD_YES;
}

static struct arg_check
check_args(struct MHD_Connection *conn, const char *const *allowed)
{
	struct arg_check a = {.allowed = allowed};

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &a);
	return a;
}

static enum MHD_Result
get_token(struct cs_cdh *c, struct MHD_Connection *conn)
{
	static const char *const allowed[] = {"token_type", NULL};
	const char *type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token_type");
	struct cs_buf pem, body;
	json_t *o = NULL;
	enum cs_err err;
	enum MHD_Result ret;
	char detail[CS_RCAR_DETAIL_MAX];

	/* api-server-rest answers anything but exactly one token_type with 405. */
	if (check_args(conn, allowed).n != 1 || type == NULL)
		return reply_err(conn, 405, CS_ERR_INVAL, "exactly one parameter: token_type");
	if (strcmp(type, "kbs") != 0)
		return reply_err(conn, 400, CS_ERR_UNSUPPORTED, "token_type must be kbs");
	cs_buf_init(&pem, 64 * 1024);
	cs_buf_init(&body, CS_RCAR_TOKEN_MAX + 64 * 1024);
	pthread_mutex_lock(&c->lock);
	err = fresh_token(c);
	if (err == CS_OK)
		err = cs_rcar_key_pem(c->rcar, &pem);
	if (err == CS_OK) {
		/* guest-components' AA answers {"token", "tee_keypair"}: the token and the private
		 * key it is bound to, so that the caller can decrypt resources itself. */
		o = json_pack("{s:s, s:s}", "token", cs_rcar_token(c->rcar, NULL), "tee_keypair",
		              (const char *)pem.p);
		err = o != NULL ? cs_json_dump(&body, o) : CS_ERR_NOMEM;
	}
	memcpy(detail, cs_rcar_detail(c->rcar), sizeof(detail));
	pthread_mutex_unlock(&c->lock);
	if (err == CS_OK)
		ret = reply(conn, 200, "application/octet-stream", body.p, body.len, true);
	else
		ret = reply_err(conn, http_status(err), err, detail);
	if (o != NULL) {
		/* jansson holds a copy of the private key PEM: wipe it before release. */
		json_t *k = json_object_get(o, "tee_keypair");
		if (k != NULL)
			cs_wipe((void *)json_string_value(k), json_string_length(k));
	}
	json_decref(o);
	cs_buf_fini(&body);
	cs_buf_fini(&pem);
	return ret;
}

static enum MHD_Result
get_evidence(struct cs_cdh *c, struct MHD_Connection *conn)
{
	static const char *const allowed[] = {"runtime_data", "encoding", NULL};
	const char *rt = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "runtime_data");
	const char *enc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "encoding");
	uint8_t rd[CS_REPORT_DATA_LEN] = {0};
	struct cs_buf body, raw;
	json_t *ev = NULL;
	enum cs_err err;
	enum MHD_Result ret;

	if (rt == NULL || check_args(conn, allowed).unknown != 0)
		return reply_err(conn, 400, CS_ERR_INVAL, "runtime_data [and encoding] expected");
	/* As guest-components' api-server-rest: the runtime data is the parameter's bytes, or with
	 * encoding=base64 its base64url (no padding) decoding. The AA hands them to the attester
	 * as report data: at most 64 bytes, zero-padded (longer is refused, not truncated). */
	cs_buf_init(&raw, RUNTIME_DATA_MAX);
	if (enc == NULL)
		err = cs_buf_append(&raw, rt, strlen(rt));
	else if (strcmp(enc, "base64") == 0)
		err = cs_b64url_decode(&raw, rt, strlen(rt));
	else
		err = CS_ERR_UNSUPPORTED;
	if (err != CS_OK) {
		cs_buf_fini(&raw);
		return reply_err(conn, 400, err, "runtime_data: at most 64 bytes, encoding base64");
	}
	memcpy(rd, raw.p, raw.len);
	cs_buf_fini(&raw);
	cs_buf_init(&body, 4u << 20);
	err = c->tee->attest(rd, &ev);
	if (err == CS_OK)
		err = cs_json_dump(&body, ev);
	if (err == CS_OK)
		ret = reply(conn, 200, "application/octet-stream", body.p, body.len, false);
	else
		ret = reply_err(conn, 500, err, NULL);
	json_decref(ev);
	cs_buf_fini(&body);
	return ret;
}

/*
 * MHD percent-decodes the path it hands to on_request, so "a/b/c%00x" would arrive as "a/b/c" and
 * "a%2Fb%2Fc" as "a/b/c": the resource served would not be the one named in the request line.
 * This sees the request target as received, before any decoding, and marks whether its path (the
 * part before '?') holds a '%'; the mark becomes the request's context. Query values are still
 * decoded, as api-server-rest decodes them.
 */
static char path_plain, path_escaped;

static void *
mark_escapes(void *cls, const char *uri, struct MHD_Connection *conn)
{
	size_t path_len = strcspn(uri, "?");

	(void)cls;
	(void)conn;
	return memchr(uri, '%', path_len) != NULL ? &path_escaped : &path_plain;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	struct cs_cdh *c = cls;

	(void)version;
	(void)upload;
	/* Refuse anything but GET before reading a body; MHD closes the connection after. */
	if (strcmp(method, "GET") != 0)
		return reply_err(conn, 405, CS_ERR_PROTOCOL, "only GET is served");
	if (*upload_len != 0)
		return reply_err(conn, 400, CS_ERR_PROTOCOL, "no body expected");
	if (strncmp(url, CDH_RESOURCE_PREFIX, strlen(CDH_RESOURCE_PREFIX)) == 0) {
		/* The resource grammar has no '%': an escape is refused, not decoded. */
		if (*con_cls != &path_plain)
			return reply_err(conn, 400, CS_ERR_PATH, "percent-encoded resource path");
		return get_resource(c, conn, url + strlen(CDH_RESOURCE_PREFIX));
	}
	if (strcmp(url, "/aa/token") == 0)
		return get_token(c, conn);
	if (strcmp(url, "/aa/evidence") == 0)
		return get_evidence(c, conn);
	return reply_err(conn, 404, CS_ERR_NOT_FOUND, "no such endpoint");
}

enum cs_err
cs_cdh_start(const char *listen, const struct cs_rcar_cfg *rcar_cfg, struct cs_cdh **out)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	struct cs_cdh *c;
	uint32_t addr;
	uint16_t port;
	enum cs_err err;

	*out = NULL;
	TRY(cs_cdh_parse_listen(listen, &addr, &port));
	/* The API hands out secrets and the session's private key to whoever connects, exactly as
	 * guest-components' does: it is for processes inside this TEE only, so loopback only. */
	if (((const uint8_t *)&addr)[0] != 127)
		return CS_ERR_CONFIG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CS_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->tee = rcar_cfg->tee;
	if ((err = cs_rcar_new(rcar_cfg, &c->rcar)) != CS_OK)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = addr;
	sa.sin_port = htons(port);
	/* One polling thread: requests are served one at a time, which also serializes use of
	 * the cached session; limits bound what a local client can make us hold. */
	c->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	                        on_request, c, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	                        MHD_OPTION_URI_LOG_CALLBACK, mark_escapes, NULL, MHD_OPTION_END);
	err = CS_ERR_NETWORK;
	if (c->d == NULL)
		goto fail;
	info = MHD_get_daemon_info(c->d, MHD_DAEMON_INFO_BIND_PORT);
	c->port = info != NULL ? info->port : port;
	*out = c;
	return CS_OK;
fail:
	cs_cdh_stop(c);
	return err;
}

uint16_t
cs_cdh_port(const struct cs_cdh *c)
{
	return c->port;
}

void
cs_cdh_stop(struct cs_cdh *c)
{
	if (c == NULL)
		return;
	if (c->d != NULL)
		MHD_stop_daemon(c->d);
	cs_rcar_free(c->rcar);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
