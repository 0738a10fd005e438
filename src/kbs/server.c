/*
 * custos-kbs HTTP server on libmicrohttpd (see kbs.h for the routes).
 *
 * Order of checks on every request, before any body byte is read: route (404), method (405),
 * content type (415), Content-Length against the body limit (413); then the body is read into a
 * capped buffer (413 again if a chunked body outgrows it), then the handler runs. Limits on the
 * request head, connections, per-client connections and idle time are MHD options. The request
 * target is never percent-decoded (a custom unescape callback), and the resource grammar refuses
 * '%', so what is checked is what is used.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attest/appraise.h"
#include "attest/as.h"
#include "attest/ear.h"
#include "attest/rcar.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/secret.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "kbs/admin.h"
#include "kbs/audit.h"
#include "kbs/connguard.h"
#include "kbs/kbs.h"
#include "kbs/path.h"
#include "kbs/ratelimit.h"
#include "kbs/refval.h"
#include "kbs/session.h"
#include "kbs/tokcache.h"
#include "policy/policy.h"
#include "policy/rv.h"
#include "store/store.h"

#define ERR_PREFIX "https://github.com/confidential-containers/kbs/errors/"
#define COOKIE_NAME "kbs-session-id"
#define DETAIL_MAX 256
#define STOP_WAIT_MS 2000
#define PURGE_EVERY_NS (60ull * 1000000000ull)
/* Audit records of resource requests refused before the policy (no token, bad token, malformed
 * path): per client (IPv4 address, IPv6 /64) a burst of REFUSED_BURST then REFUSED_RATE a second,
 * and over all clients REFUSED_ALL_BURST then REFUSED_ALL_RATE a second; the rest are counted
 * (kbs_audit_refusals_suppressed_total) and the next record says how many it follows. */
#define REFUSED_RATE 5.0
#define REFUSED_BURST 20.0
#define REFUSED_ALL_RATE 100.0
#define REFUSED_ALL_BURST 200.0

enum route {
	R_NONE,
	R_AUTH,
	R_ATTEST,
	R_RESOURCE,
	R_RESOURCE_POLICY,
	R_ATTEST_POLICY,
	R_REFVAL,
	R_REFVAL_GET,
	R_AUDIT,
	R_AUDIT_VERIFY,
	R_JWKS,
	R_HEALTHZ,
	R_METRICS,
	R_COUNT_
};

static const char *const route_names[R_COUNT_] = {
        "none",
        "auth",
        "attest",
        "resource",
        "resource_policy",
        "attestation_policy",
        "reference_value",
        "reference_value_get",
        "audit",
        "audit_verify",
        "jwks",
        "healthz",
        "metrics",
};

/* Status codes counted in metrics. */
static const unsigned codes[] = {200, 400, 401, 403, 404, 405, 413, 415, 429, 500, 503};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
/* Latency histogram bounds, seconds (Trustee's KBS buckets span 0.5 ms .. 1 s). */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,   0.25,   0.5,   1.0};
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

enum verdict { V_AFFIRMING, V_WARNING, V_CONTRAINDICATED, V_NONE, V_ERROR, V_COUNT_ };
static const char *const verdict_names[V_COUNT_] = {"affirming", "warning", "contraindicated",
                                                    "none", "error"};

struct metrics {
	atomic_ulong requests[R_COUNT_][NCODES];
	atomic_ulong lat[R_COUNT_][NLAT + 1];
	atomic_ulong lat_sum_us[R_COUNT_];
	atomic_ulong attest[CS_KBS_MAX_TEES][V_COUNT_];
	atomic_ulong releases;
	atomic_ulong denials;
	atomic_ulong admin_failures;
	atomic_ulong rate_limited;
	atomic_ulong refusals;            /* resource requests refused before the policy */
	atomic_ulong refusals_suppressed; /* ... of which not audited (rate limit, or no memory) */
	atomic_ulong refusals_since;      /* suppressed since the last refusal record */
};

struct cs_kbs {
	const struct cs_kbs_config *cfg;
	struct MHD_Daemon *d;
	struct cs_store *store;
	struct cs_as as;
	struct cs_kbs_admin admin;
	struct cs_kbs_audit audit;
	struct cs_tokcache tokens;
	struct cs_ratelimit rl;
	struct cs_ratelimit refused_rl; /* audit records of refused resource requests */
	struct cs_connguard guard;      /* request-head deadlines, connections per client prefix */
	uint8_t *session_key;           /* CS_SESSION_KEY_LEN bytes of cs_secure_alloc memory */
	char *tls_cert, *tls_key;       /* owned PEM text; the key in cs_secure_alloc memory */
	size_t tls_key_len;
	uint16_t port;
	_Atomic uint64_t last_purge_ns;
	struct metrics m;
};

/* Per-request state, from the first callback to the completion notice. */
struct req {
	enum route route;
	uint64_t t0;
	struct cs_buf body;
	bool too_large;
	unsigned pend_status;     /* a precheck refusal answered once the body is drained */
	const char *pend_variant; /* static text */
	const char *pend_detail;  /* static text */
	uint64_t drained;         /* body bytes discarded */
	unsigned status;
	const char *variant; /* error variant for the log, or NULL */
	char method[8];
	char path[160]; /* the request path, for the log (cut; escaped by the JSON dump) */
	char client[CS_RL_ADDR_MAX];
	bool loopback;
	char note[96]; /* tee, role or verdict for the log */
	char role[64]; /* admin requests: the token's role ("" without a token) */
};

/* ---- responses ---- */

static enum MHD_Result
send_buf(struct MHD_Connection *c, struct req *r, unsigned status, const char *ctype,
         const void *body, size_t n, const char *cookie)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (cookie != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	return ret;
}

/* RFC 7807 problem body in Trustee's form (kbs_types::ErrorInformation). */
static enum MHD_Result
problem(struct MHD_Connection *c, struct req *r, unsigned status, const char *variant,
        const char *detail)
{
	struct cs_buf b;
	enum MHD_Result ret = MHD_NO;
	json_t *o;

	r->variant = variant;
	o = json_pack("{s:s+,s:s}", "type", ERR_PREFIX, variant, "detail", detail);
	cs_buf_init(&b, 4096);
	if (o != NULL && cs_json_dump(&b, o) == CS_OK)
		ret = send_buf(c, r, status, "application/json", b.p, b.len, NULL);
	cs_buf_fini(&b);
	json_decref(o);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, struct req *r, const json_t *o, const char *cookie)
{
	struct cs_buf b;
	enum MHD_Result ret;

	cs_buf_init(&b, (size_t)4 << 20);
	if (cs_json_dump(&b, o) != CS_OK) {
		cs_buf_fini(&b);
		return problem(c, r, 500, "SerdeError", "cannot serialize the response");
	}
	ret = send_buf(c, r, 200, "application/json", b.p, b.len, cookie);
	cs_buf_fini(&b);
	return ret;
}

static enum MHD_Result
send_empty(struct MHD_Connection *c, struct req *r)
{
	return send_buf(c, r, 200, NULL, "", 0, NULL);
}

/* ---- helpers ---- */

static bool
is_json_ctype(struct MHD_Connection *c)
{
	const char *ct =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Content-Length when present and well-formed; -1 when absent; -2 when malformed. */
static long long
content_length(struct MHD_Connection *c)
{
	const char *v =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	long long n = 0;

	if (v == NULL)
		return -1;
	if (*v == '\0')
		return -2;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (1ll << 40))
			return -2;
		n = n * 10 + (*v - '0');
	}
	return n;
}

static enum route
route_of(const char *url, const char **rest)
{
	static const char pre[] = "/kbs/v0/";
	const char *p;

	*rest = NULL;
	if (strcmp(url, "/healthz") == 0)
		return R_HEALTHZ;
	if (strcmp(url, "/metrics") == 0)
		return R_METRICS;
	if (strncmp(url, pre, sizeof(pre) - 1) != 0)
		return R_NONE;
	p = url + sizeof(pre) - 1;
	if (strcmp(p, "auth") == 0)
		return R_AUTH;
	if (strcmp(p, "attest") == 0)
		return R_ATTEST;
	if (strcmp(p, "jwks") == 0)
		return R_JWKS;
	if (strcmp(p, "audit") == 0)
		return R_AUDIT;
	if (strcmp(p, "audit/verify") == 0)
		return R_AUDIT_VERIFY;
	if (strcmp(p, "resource-policy") == 0)
		return R_RESOURCE_POLICY;
	if (strcmp(p, "attestation-policy") == 0)
		return R_ATTEST_POLICY;
	if (strcmp(p, "reference-value") == 0)
		return R_REFVAL;
	if (strncmp(p, "reference-value/", 16) == 0) {
		*rest = p + 16;
		return R_REFVAL_GET;
	}
	if (strncmp(p, "resource/", 9) == 0) {
		*rest = p + 9;
		return R_RESOURCE;
	}
	return R_NONE;
}

static bool
method_ok(enum route rt, const char *m)
{
	bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;

	switch (rt) {
	case R_AUTH:
	case R_ATTEST:
	case R_ATTEST_POLICY:
	case R_REFVAL:
		return post;
	case R_RESOURCE:
		return get || post || strcmp(m, "DELETE") == 0;
	case R_RESOURCE_POLICY:
		return get || post;
	case R_REFVAL_GET:
	case R_AUDIT:
	case R_AUDIT_VERIFY:
	case R_JWKS:
	case R_HEALTHZ:
	case R_METRICS:
		return get;
	case R_NONE:
	case R_COUNT_:
	default:
		return false;
	}
}

/* Whether a POST to rt must carry JSON (the resource upload is raw bytes). */
static bool
wants_json(enum route rt)
{
	return rt == R_AUTH || rt == R_ATTEST || rt == R_RESOURCE_POLICY || rt == R_ATTEST_POLICY ||
	       rt == R_REFVAL;
}

static const char *
cookie_value(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME);
}

/* "kbs-session-id=<v>; Expires=<IMF-fixdate>; HttpOnly; SameSite=Strict[; Secure]" */
static char *
make_cookie(const struct cs_kbs *k, const char *v, int64_t expires)
{
	char date[64], *s = NULL;
	time_t t = (time_t)expires;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (asprintf(&s, COOKIE_NAME "=%s; Expires=%s; Path=/kbs; HttpOnly; SameSite=Strict%s", v,
	             date, k->tls_cert != NULL ? "; Secure" : "") < 0)
		return NULL;
	return s;
}

static void
client_addr(struct MHD_Connection *c, struct req *r)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(r->client, sizeof(r->client), "?");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, r->client, sizeof(r->client));
		r->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, r->client, sizeof(r->client));
		r->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		              (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		               in6->sin6_addr.s6_addr[12] == 127);
	}
}

static int
tee_index(const struct cs_kbs *k, const char *tee)
{
	for (size_t i = 0; i < k->as.ntees; i++)
		if (strcmp(k->as.tees[i].ops->name, tee) == 0)
			return (int)i;
	return -1;
}

static void
count_attest(struct cs_kbs *k, const char *tee, enum verdict v)
{
	int i = tee_index(k, tee);

	if (i >= 0)
		atomic_fetch_add(&k->m.attest[i][v], 1);
}

/*
 * Queues an audit event (takes body); a failure to audit is not hidden from the caller. Every
 * record names the client address, and admin records the token's role. NEVER a secret value, a
 * token or a cookie: digests, paths, versions, ids, verdicts and reasons only.
 */
static enum cs_err
audit(struct cs_kbs *k, const struct req *r, const char *kind, json_t *body)
{
	/* Admin writes wait for their record; attestations and releases as configured. */
	bool wait = strcmp(kind, "admin") == 0 || k->cfg->audit_sync;

	if (body != NULL && (json_object_set_new(body, "client", json_string(r->client)) != 0 ||
	                     (strcmp(kind, "admin") == 0 && r->role[0] != '\0' &&
	                      json_object_set_new(body, "role", json_string(r->role)) != 0))) {
		json_decref(body);
		return CS_ERR_NOMEM;
	}
	return cs_audit_log(&k->audit, cs_clock_now(), kind, body, wait);
}

static void
hex32(const uint8_t b[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[64] = '\0';
}

/* {"id": <store id or "default">, "version": n} of the policy that decided. */
static json_t *
policy_ref(const char *id, uint64_t version)
{
	return json_pack("{s:s,s:I}", "id", id[0] != '\0' ? id : "default", "version",
	                 (json_int_t)version);
}

/* The audit record of an attestation that failed before a token: tee, stage, reason. */
static enum cs_err
audit_attest_failed(struct cs_kbs *k, const struct req *r, const char *tee, const char *reason)
{
	return audit(
	        k, r, "attest",
	        json_pack("{s:[s],s:s,s:s}", "tees", tee, "verdict", "error", "reason", reason));
}

/*
 * The audit record of an issued token: per submodule its TEE, status, trust vector, the SHA-256
 * of the JCS of its annotated evidence (the claims the appraisal saw) and the appraisal policy
 * (id and version); the token's id (SHA-256 of the token, which release records name too).
 */
static json_t *
attest_record(const json_t *ear, const char *tee, const uint8_t token_id[32],
              const struct cs_appraise_info *info, enum cs_ear_status st)
{
	const json_t *subs = json_object_get(ear, "submods"), *m;
	const char *name;
	char hex[65];
	json_t *o, *mods, *tees;
	struct cs_buf jcs;

	hex32(token_id, hex);
	o = json_pack("{s:s,s:s,s:o,s:o}", "verdict", cs_ear_status_name(st), "token_id", hex,
	              "submods", json_object(), "tees", json_array());
	if (o == NULL)
		return NULL;
	mods = json_object_get(o, "submods");
	tees = json_object_get(o, "tees");
	cs_buf_init(&jcs, CS_STORE_VALUE_MAX);
	json_object_foreach((json_t *)subs, name, m)
	{
		uint8_t dg[32];
		json_t *sm;

		cs_buf_reset(&jcs);
		if (cs_jcs(&jcs, json_object_get(m, "ear.veraison.annotated-evidence")) != CS_OK ||
		    cs_hash(CS_SHA256, jcs.p, jcs.len, dg) != CS_OK)
			goto fail;
		hex32(dg, hex);
		sm = json_pack("{s:s,s:O*,s:O*,s:s,s:o}", "tee", tee, "status",
		               json_object_get(m, "ear.status"), "trust_vector",
		               json_object_get(m, "ear.trustworthiness-vector"), "claims_sha256",
		               hex, "appraisal_policy",
		               policy_ref(info->policy_id, info->policy_version));
		if (sm == NULL ||
		    (info->reason[0] != '\0' &&
		     json_object_set_new(sm, "reason", json_string(info->reason)) != 0) ||
		    json_object_set_new(mods, name, sm) != 0)
			goto fail;
	}
	if (json_array_append_new(tees, json_string(tee)) != 0)
		goto fail;
	cs_buf_fini(&jcs);
	return o;
fail:
	cs_buf_fini(&jcs);
	json_decref(o);
	return NULL;
}

/* The latest version of path, 0 when there is none (for denial records). */
static uint64_t
latest_version(struct cs_kbs *k, const char *path)
{
	struct cs_store_version *v = NULL;
	uint64_t ver = 0;
	size_t n = 0;

	if (cs_store_resource_versions(k->store, path, &v, &n) == CS_OK && n > 0)
		ver = v[n - 1].version;
	free(v);
	return ver;
}

/*
 * The audit record of a resource request that reached the policy: path and version (the one
 * released, or on a denial the latest stored; null when none), the token's id, and the policy
 * decision (allow/deny, reason, deciding policy id and version, rule line:column).
 */
static json_t *
release_record(const char *path, uint64_t ver, const uint8_t token_id[32],
               const struct cs_decision *d, bool released, const char *outcome)
{
	char hex[65], rule[24];

	hex32(token_id, hex);
	snprintf(rule, sizeof(rule), "%u:%u", (unsigned)d->line, (unsigned)d->col);
	return json_pack("{s:s,s:o,s:s,s:s,s:b,s:s,s:{s:o,s:s,s:s}}", "path", path, "version",
	                 ver > 0 ? json_integer((json_int_t)ver) : json_null(), "token_id", hex,
	                 "verdict", d->allow ? "allow" : "deny", "released", released, "outcome",
	                 outcome, "decision", "policy", policy_ref(d->policy_id, d->policy_version),
	                 "reason", d->reason, "rule", rule);
}

/* Trustee's query_reference_value over the store, then the static configuration (refval.h). */
static json_t *
refval_get(void *ctx, const char *name)
{
	struct cs_kbs *k = ctx;

	return cs_kbs_refval_get(k->store, k->cfg->refvals, name, cs_clock_now());
}

/*
 * The audit record of a resource request refused before the policy ran: {"outcome": "refused",
 * "released": false, "reason", "path" (when it parsed), "token_id" (SHA-256 of the token, when
 * one was presented; never the token)}, at most as often as refused_rl allows; a refusal
 * without a record is counted, and the next record names the count ("suppressed_before").
 * The request is refused whether or not its record could be queued.
 */
static void
audit_refused(struct cs_kbs *k, const struct req *r, const char *path, const uint8_t *token_id,
              const char *reason)
{
	unsigned long before;
	char hex[65];
	json_t *o;

	atomic_fetch_add(&k->m.refusals, 1);
	if (!cs_rl_take(&k->refused_rl, r->client, cs_clock_mono_ns()))
		goto suppressed;
	o = json_pack("{s:s,s:b,s:s}", "outcome", "refused", "released", 0, "reason", reason);
	if (o == NULL)
		goto suppressed;
	if (path != NULL && json_object_set_new(o, "path", json_string(path)) != 0)
		goto nomem;
	if (token_id != NULL) {
		hex32(token_id, hex);
		if (json_object_set_new(o, "token_id", json_string(hex)) != 0)
			goto nomem;
	}
	before = atomic_exchange(&k->m.refusals_since, 0);
	if (before > 0 &&
	    json_object_set_new(o, "suppressed_before", json_integer((json_int_t)before)) != 0) {
		atomic_fetch_add(&k->m.refusals_since, before);
		goto nomem;
	}
	if (audit(k, r, "release", o) != CS_OK)
		goto suppressed; /* audit() took o */
	return;
nomem:
	json_decref(o);
suppressed:
	atomic_fetch_add(&k->m.refusals_suppressed, 1);
	atomic_fetch_add(&k->m.refusals_since, 1);
}

/* ---- protocol handlers ---- */

static enum MHD_Result
h_auth(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	struct cs_session s = {0};
	struct cs_auth_req a;
	struct cs_buf nonce_b64, cookie;
	char *set = NULL;
	enum MHD_Result ret;
	json_t *o = NULL;
	int64_t now = cs_clock_now();

	if (!cs_rl_take(&k->rl, r->client, cs_clock_mono_ns())) {
		atomic_fetch_add(&k->m.rate_limited, 1);
		return problem(c, r, 429, "TooManyRequests", "rate limit exceeded for /auth");
	}
	if (cs_auth_req_parse(r->body.p, r->body.len, &a) != CS_OK)
		return problem(c, r, 400, "SerdeError", "malformed auth request");
	snprintf(r->note, sizeof(r->note), "%s", a.tee);
	if (strcmp(a.version, CS_KBS_PROTOCOL_VERSION) != 0)
		return problem(c, r, 401, "AttestationError",
		               "Protocol Version Mismatch: expect =" CS_KBS_PROTOCOL_VERSION);
	if (!cs_as_enabled(&k->as, a.tee))
		return problem(c, r, 401, "AttestationError", "TEE type not enabled");
	s.state = CS_SESSION_CHALLENGED;
	memcpy(s.tee, a.tee, sizeof(s.tee));
	s.expires = now + k->cfg->session_ttl;
	if (cs_random(s.nonce, sizeof(s.nonce)) != CS_OK)
		return problem(c, r, 500, "PluginInternalError", "random generator failure");
	cs_buf_init(&nonce_b64, 64);
	cs_buf_init(&cookie, CS_SESSION_COOKIE_MAX);
	ret = MHD_NO;
	if (cs_b64_encode(&nonce_b64, s.nonce, sizeof(s.nonce)) != CS_OK ||
	    cs_session_seal(k->session_key, &s, &cookie) != CS_OK ||
	    (set = make_cookie(k, (const char *)cookie.p, s.expires)) == NULL ||
	    (o = json_pack("{s:s,s:s}", "nonce", (const char *)nonce_b64.p, "extra-params", "")) ==
	            NULL) {
		ret = problem(c, r, 500, "PluginInternalError", "cannot create the session");
		goto out;
	}
	ret = send_json(c, r, o, set);
out:
	json_decref(o);
	free(set);
	cs_buf_fini(&nonce_b64);
	cs_buf_fini(&cookie);
	return ret;
}

static enum MHD_Result
h_attest(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	struct cs_session s = {0}, out_s = {0};
	struct cs_attest_req req = {0};
	struct cs_buf nonce_b64, token, cookie;
	struct cs_jwk jwk;
	enum cs_ear_status st = CS_EAR_NONE;
	enum cs_jwe_alg jalg;
	const char *cv = cookie_value(c);
	uint8_t dg[32];
	char *set = NULL;
	enum MHD_Result ret = MHD_NO;
	enum cs_err err;
	json_t *o = NULL, *ear = NULL;
	struct cs_appraise_info info;
	uint8_t id[32];
	int64_t now = cs_clock_now();

	cs_jwk_init(&jwk);
	cs_buf_init(&nonce_b64, 64);
	cs_buf_init(&token, CS_EAR_MAX);
	cs_buf_init(&cookie, CS_SESSION_COOKIE_MAX);
	if (cv == NULL) {
		ret = problem(c, r, 401, "AttestationError", "no kbs-session-id cookie");
		goto out;
	}
	err = cs_session_open(k->session_key, cv, strlen(cv), now, &s);
	if (err != CS_OK) {
		ret = problem(c, r, 401, "AttestationError",
		              err == CS_ERR_EXPIRED ? "session expired" : "invalid session");
		goto out;
	}
	snprintf(r->note, sizeof(r->note), "%s", s.tee);
	if (s.state == CS_SESSION_ATTESTED) { /* as Trustee: the cached token, no re-verification */
		o = json_pack("{s:s%}", "token", s.token, s.token_len);
		ret = o != NULL ? send_json(c, r, o, NULL) : MHD_NO;
		goto out;
	}
	err = cs_attest_req_parse(r->body.p, r->body.len, k->cfg->body_max, &req);
	if (err != CS_OK) {
		ret = problem(c, r, 400, "SerdeError", cs_err_str(err));
		goto out;
	}
	/* The nonce is the one this session was challenged with, byte for byte. */
	if (cs_b64_encode(&nonce_b64, s.nonce, sizeof(s.nonce)) != CS_OK ||
	    req.nonce_len != nonce_b64.len || !cs_ct_eq(req.nonce, nonce_b64.p, nonce_b64.len)) {
		count_attest(k, s.tee, V_ERROR);
		(void)audit_attest_failed(k, r, s.tee, cs_err_str(CS_ERR_NONCE));
		ret = problem(c, r, 401, "AttestationError", cs_err_str(CS_ERR_NONCE));
		goto out;
	}
	/* One attestation per challenge, across replicas: the first to record the nonce wins. This
	 * comes before anything expensive (the tee-pubkey import, up to RSA-4096, and the evidence
	 * verification), so one challenge buys at most one expensive request. */
	if ((err = cs_hash(CS_SHA256, s.nonce, sizeof(s.nonce), dg)) != CS_OK ||
	    (err = cs_store_nonce_record(k->store, dg, sizeof(dg), s.expires)) != CS_OK) {
		count_attest(k, s.tee, V_ERROR);
		(void)audit_attest_failed(k, r, s.tee,
		                          err == CS_ERR_EXISTS ? "challenge already used"
		                                               : cs_err_str(err));
		/* Only a used challenge is the client's fault; a store that cannot record it is
		 * ours, and its message stays in the audit log, not in the answer. */
		ret = err == CS_ERR_EXISTS
		              ? problem(c, r, 401, "AttestationError", "challenge already used")
		              : problem(c, r, 503, "PluginInternalError",
		                        "the challenge cannot be recorded now; retry later");
		goto out;
	}
	/* The key the resource will be encrypted to must be usable before it is certified. */
	if (cs_jwk_parse(req.tee_pubkey, &jwk) != CS_OK || jwk.kty == CS_JWK_OCT ||
	    cs_jwe_alg_for_jwk(&jwk, &jalg) != CS_OK || jalg == CS_JWE_DIR) {
		ret = problem(c, r, 400, "SerdeError", "tee-pubkey is not a usable public key");
		goto out;
	}
	err = cs_as_attest(&k->as, s.tee, &req, now, &token, &st, &ear, &info);
	if (err != CS_OK) {
		count_attest(k, s.tee, V_ERROR);
		(void)audit_attest_failed(k, r, s.tee, cs_err_str(err));
		ret = problem(c, r, 401, "AttestationError", cs_err_str(err));
		goto out;
	}
	count_attest(k, s.tee,
	             (enum verdict)(st == CS_EAR_AFFIRMING ? V_AFFIRMING
	                            : st == CS_EAR_WARNING ? V_WARNING
	                            : st == CS_EAR_NONE    ? V_NONE
	                                                   : V_CONTRAINDICATED));
	snprintf(r->note, sizeof(r->note), "%s %s", s.tee, cs_ear_status_name(st));
	if (cs_tok_id((const char *)token.p, token.len, id) != CS_OK ||
	    (err = audit(k, r, "attest", attest_record(ear, s.tee, id, &info, st))) != CS_OK) {
		ret = problem(c, r, 500, "PluginInternalError", "audit log unavailable");
		goto out;
	}
	/* We just signed it: this process may serve it without verifying it again. */
	if (ear != NULL)
		cs_tok_put(cs_tokcache_put(&k->tokens, id,
		                           (int64_t)json_integer_value(json_object_get(ear, "exp")),
		                           ear, &jwk));
	/* The attested session carries its token so any replica can serve the cookie path; a
	 * token too large for a cookie is returned without one (use Authorization: Bearer). */
	if (token.len <= CS_SESSION_TOKEN_MAX) {
		out_s = s;
		out_s.token = NULL;
		out_s.state = CS_SESSION_ATTESTED;
		out_s.token = (char *)token.p;
		out_s.token_len = token.len;
		if (cs_session_seal(k->session_key, &out_s, &cookie) != CS_OK ||
		    (set = make_cookie(k, (const char *)cookie.p, s.expires)) == NULL) {
			ret = problem(c, r, 500, "PluginInternalError", "cannot seal the session");
			goto out;
		}
	}
	o = json_pack("{s:s%}", "token", (const char *)token.p, token.len);
	ret = o != NULL ? send_json(c, r, o, set) : MHD_NO;
out:
	json_decref(ear);
	json_decref(o);
	free(set);
	cs_jwk_fini(&jwk);
	cs_attest_req_fini(&req);
	cs_session_fini(&s);
	cs_buf_fini(&nonce_b64);
	cs_buf_fini(&token);
	cs_buf_fini(&cookie);
	return ret;
}

/* The query as a JSON object of strings, for the resource policy. Values are undecoded (see the
 * unescaper); a repeated key, more than QS_MAX_ARGS arguments or QS_MAX_BYTES bytes in all are
 * refused rather than guessed at. */
#define QS_MAX_ARGS 32
#define QS_MAX_BYTES 2048

struct qs {
	json_t *o;
	size_t bytes;
	bool bad;
};

static enum MHD_Result
qs_add(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qs *q = cls;

	(void)kind;
	if (value == NULL)
		value = "";
	q->bytes += strlen(key) + strlen(value);
	if (q->o == NULL || q->bytes > QS_MAX_BYTES || json_object_size(q->o) >= QS_MAX_ARGS ||
	    json_object_get(q->o, key) != NULL ||
	    json_object_set_new(q->o, key, json_string(value)) != 0) {
		q->bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
h_resource_get(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *path)
{
	const char *authz =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cv = cookie_value(c), *tok = NULL;
	struct cs_session s = {0};
	struct cs_buf value, jwe;
	struct cs_jwk jwk;
	struct qs q = {0};
	struct cs_policy_env env;
	struct cs_decision d;
	uint64_t ver = 0;
	enum MHD_Result ret = MHD_NO;
	enum cs_err err;
	json_t *claims = NULL;
	const json_t *pk;
	struct cs_tok *t = NULL;
	uint8_t id[32];
	char reason[96];
	size_t tok_len = 0;
	int64_t now = cs_clock_now();

	cs_jwk_init(&jwk);
	cs_buf_init(&value, CS_STORE_VALUE_MAX);
	cs_buf_init(&jwe, 4 * CS_STORE_VALUE_MAX / 3 + 8192);
	if (authz != NULL) {
		if (strncmp(authz, "Bearer ", 7) != 0) {
			audit_refused(k, r, path, NULL, "Authorization is not Bearer");
			ret = problem(c, r, 401, "TokenNotFound", "Authorization is not Bearer");
			goto out;
		}
		tok = authz + 7;
		tok_len = strlen(tok);
	} else if (cv != NULL &&
	           cs_session_open(k->session_key, cv, strlen(cv), now, &s) == CS_OK &&
	           s.state == CS_SESSION_ATTESTED) {
		tok = s.token;
		tok_len = s.token_len;
	}
	if (tok == NULL) {
		audit_refused(k, r, path, NULL,
		              cv == NULL ? "no token" : "no attested session for the cookie");
		ret = problem(c, r, 401, "TokenNotFound", "Attestation Token not found");
		goto out;
	}
	/* Checked on every request: ours (signature under our key only, or the same bytes
	 * already verified: tokcache.h) and not expired. */
	if (cs_tok_id(tok, tok_len, id) != CS_OK) {
		ret = problem(c, r, 500, "PluginInternalError", "hash failure");
		goto out;
	}
	if ((t = cs_tokcache_get(&k->tokens, id, now)) == NULL) {
		if ((err = cs_ear_verify(&k->as.signer, tok, tok_len, now, &claims)) != CS_OK) {
			snprintf(reason, sizeof(reason), "token: %s", cs_err_str(err));
			audit_refused(k, r, path, id, reason);
			ret = problem(c, r, 401, "TokenVerifierError", cs_err_str(err));
			goto out;
		}
		pk = cs_ear_tee_pubkey(claims);
		if (pk == NULL || cs_jwk_parse(pk, &jwk) != CS_OK) {
			audit_refused(k, r, path, id, "token: no usable tee-pubkey");
			ret = problem(c, r, 401, "TokenVerifierError",
			              "no usable tee-pubkey in the token");
			goto out;
		}
		t = cs_tokcache_put(&k->tokens, id,
		                    (int64_t)json_integer_value(json_object_get(claims, "exp")),
		                    claims, &jwk);
		if (t == NULL) {
			ret = problem(c, r, 500, "PluginInternalError", "out of memory");
			goto out;
		}
	}
	q.o = json_object();
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, qs_add, &q);
	if (q.bad) {
		audit_refused(k, r, path, id, "query string refused");
		ret = problem(c, r, 400, "InvalidRequestPath", "query string refused");
		goto out;
	}
	env.store = k->store;
	env.rv = &k->as.refvals;
	env.now = now;
	if (cs_decide_resource(&env, t->claims, path, json_object_size(q.o) ? q.o : NULL, &d) !=
	    CS_OK) {
		atomic_fetch_add(&k->m.denials, 1);
		snprintf(r->note, sizeof(r->note), "denied");
		/* Refused either way: a denial that cannot be audited stays a denial. */
		(void)audit(k, r, "release",
		            release_record(path, latest_version(k, path), id, &d, false, "denied"));
		ret = problem(c, r, 403, "PolicyDeny", d.reason);
		goto out;
	}
	err = cs_store_resource_get(k->store, path, 0, &value, &ver);
	if (err == CS_ERR_NOT_FOUND) {
		(void)audit(k, r, "release", release_record(path, 0, id, &d, false, "not-found"));
		ret = problem(c, r, 404, "ResourceNotFound", "no such resource");
		goto out;
	}
	if (err != CS_OK) {
		ret = problem(c, r, 500, "PluginInternalError", cs_err_str(err));
		goto out;
	}
	if ((err = cs_jwe_encrypt(&t->jwk, 0, CS_JWE_FLAT, value.p, value.len, &jwe)) != CS_OK) {
		ret = problem(c, r, 401, "JweError", cs_err_str(err));
		goto out;
	}
	if (audit(k, r, "release", release_record(path, ver, id, &d, true, "released")) != CS_OK) {
		ret = problem(c, r, 500, "PluginInternalError", "audit log unavailable");
		goto out;
	}
	atomic_fetch_add(&k->m.releases, 1);
	ret = send_buf(c, r, 200, "application/json", jwe.p, jwe.len, NULL);
out:
	cs_tok_put(t);
	json_decref(q.o);
	json_decref(claims);
	cs_jwk_fini(&jwk);
	cs_session_fini(&s);
	cs_buf_fini(&value);
	cs_buf_fini(&jwe);
	return ret;
}

/* ---- admin handlers ---- */

static enum MHD_Result
admin_gate(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *url)
{
	const char *authz =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	char role[64];
	enum cs_err err;

	err = cs_admin_check(&k->admin, authz, r->method, url, r->loopback, cs_clock_now(), role,
	                     sizeof(role));
	if (role[0] != '\0')
		snprintf(r->note, sizeof(r->note), "role=%s", role);
	snprintf(r->role, sizeof(r->role), "%s", role);
	if (err == CS_OK)
		return MHD_YES;
	atomic_fetch_add(&k->m.admin_failures, 1);
	if (err == CS_ERR_DENIED)
		return problem(c, r, 403, "AdminAuthAccess",
		               k->cfg->dev ? "admin API: loopback clients only in dev mode"
		                           : "admin access denied for this endpoint");
	return problem(c, r, 401, "AdminAuthAccess", "admin authentication required");
}

/* Decodes a base64url-no-pad policy member (Trustee decodes URL_SAFE_NO_PAD). */
static enum cs_err
policy_member(const json_t *o, const char *key, struct cs_buf *out)
{
	const char *s;
	size_t n;

	TRY(cs_json_get_str(o, key, &s, &n));
	TRY(cs_b64url_decode(out, s, n));
	ENSURE(out->len > 0, CS_ERR_JSON_FIELD);
	ENSURE(memchr(out->p, '\0', out->len) == NULL, CS_ERR_UTF8);
	return CS_OK;
}

static enum MHD_Result
store_result(struct MHD_Connection *c, struct req *r, enum cs_err err)
{
	if (err == CS_OK)
		return send_empty(c, r);
	if (err == CS_ERR_NOT_FOUND)
		return problem(c, r, 404, "ResourceNotFound", cs_err_str(err));
	if (err == CS_ERR_TOO_LARGE || err == CS_ERR_PATH || err == CS_ERR_INVAL)
		return problem(c, r, 400, "PluginInternalError", cs_err_str(err));
	return problem(c, r, 500, "PluginInternalError", cs_err_str(err));
}

static enum MHD_Result
h_policy(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	struct cs_buf text;
	struct cs_store_list l = {0};
	enum MHD_Result ret;
	enum cs_err err;
	json_t *o = NULL, *arr;
	const char *id = "resource-policy", *kind = "resource";
	struct cs_policy *pol = NULL;
	struct cs_policy_diag diag = {0};

	if (strcmp(r->method, "GET") == 0 && r->route == R_RESOURCE_POLICY) {
		if ((err = cs_store_policy_list(k->store, "resource", &l)) != CS_OK)
			return store_result(c, r, err);
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < l.n; i++)
			json_array_append_new(arr, json_string(l.items[i]));
		cs_store_list_fini(&l);
		if (arr == NULL)
			return MHD_NO;
		ret = send_json(c, r, arr, NULL);
		json_decref(arr);
		return ret;
	}
	cs_buf_init(&text, CS_STORE_VALUE_MAX);
	err = cs_json_parse(r->body.p, r->body.len, k->cfg->body_max, &o);
	if (err == CS_OK && !json_is_object(o))
		err = CS_ERR_JSON_FIELD;
	/* attestation-policy names its id (Trustee); resource-policy may (custos: several resource
	 * policies, chosen by their path pattern), else it is Trustee's single "resource-policy".
	 */
	if (err == CS_OK && r->route == R_ATTEST_POLICY)
		kind = "appraisal";
	if (err == CS_OK &&
	    (r->route == R_ATTEST_POLICY || json_object_get(o, "policy_id") != NULL)) {
		size_t n;
		err = cs_json_get_str(o, "policy_id", &id, &n);
	}
	if (err == CS_OK)
		err = policy_member(o, "policy", &text);
	if (err != CS_OK) {
		ret = problem(c, r, 400, "ParsePolicyError", cs_err_str(err));
		goto out;
	}
	/* Refused at upload, with where and why, rather than denying every request later. */
	err = cs_policy_compile((const char *)text.p, text.len, &pol, &diag);
	if (err == CS_OK &&
	    cs_policy_kind(pol) !=
	            (r->route == R_ATTEST_POLICY ? CS_POLICY_APPRAISAL : CS_POLICY_RESOURCE)) {
		snprintf(diag.msg, sizeof(diag.msg), "a %s policy was expected",
		         r->route == R_ATTEST_POLICY ? "appraisal" : "resource");
		diag.line = diag.col = 1;
		err = CS_ERR_POLICY;
	}
	cs_policy_free(pol);
	if (err != CS_OK) {
		char detail[DETAIL_MAX];

		if (err == CS_ERR_POLICY)
			snprintf(detail, sizeof(detail), "%u:%u: %s", (unsigned)diag.line,
			         (unsigned)diag.col, diag.msg);
		else
			snprintf(detail, sizeof(detail), "%s", cs_err_str(err));
		ret = problem(c, r, 400, "ParsePolicyError", detail);
		goto out;
	}
	err = cs_store_policy_put(k->store, kind, id, text.p, text.len, NULL);
	if (err == CS_OK)
		err = audit(k, r, "admin",
		            json_pack("{s:s,s:s,s:s}", "op", "policy-set", "kind", kind, "id", id));
	ret = store_result(c, r, err);
out:
	json_decref(o);
	cs_buf_fini(&text);
	return ret;
}

/* RVPS registration (Trustee rvps/src/lib.rs; parsed by src/policy/rv.h, which checks version,
 * type "sample", the payload's names and values, and the optional expiration): every reference
 * value of the message is stored with its expiry. */
static enum MHD_Result
h_refval_post(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	struct cs_rv_set set;
	enum cs_err err;

	cs_rv_set_init(&set);
	err = cs_rv_parse_message(r->body.p, r->body.len, cs_clock_now(), &set);
	if (err != CS_OK) {
		cs_rv_set_fini(&set);
		return problem(c, r, 400, "RvpsError", cs_err_str(err));
	}
	for (size_t i = 0; i < set.n && err == CS_OK; i++) {
		err = cs_store_refval_put(k->store, set.v[i].name, set.v[i].values,
		                          set.v[i].expires);
		if (err == CS_OK)
			err = audit(k, r, "admin",
			            json_pack("{s:s,s:s,s:I}", "op", "reference-value-set", "name",
			                      set.v[i].name, "expires",
			                      (json_int_t)set.v[i].expires));
	}
	cs_rv_set_fini(&set);
	return store_result(c, r, err);
}

static enum MHD_Result
h_refval_get(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *name)
{
	enum MHD_Result ret;
	enum cs_err err;
	json_t *v = NULL;

	err = cs_store_refval_get(k->store, name, cs_clock_now(), &v, NULL);
	if (err == CS_ERR_EXPIRED || err == CS_ERR_INVAL)
		err = CS_ERR_NOT_FOUND;
	if (err != CS_OK)
		return store_result(c, r, err);
	ret = send_json(c, r, v, NULL);
	json_decref(v);
	return ret;
}

static enum MHD_Result
h_resource_admin(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *path)
{
	uint64_t ver = 0;
	enum cs_err err;

	if (strcmp(r->method, "DELETE") == 0) {
		err = cs_store_resource_delete(k->store, path);
		if (err == CS_OK)
			err = audit(k, r, "admin",
			            json_pack("{s:s,s:s}", "op", "resource-delete", "path", path));
		return store_result(c, r, err);
	}
	err = cs_store_resource_put(k->store, path, r->body.p, r->body.len, &ver);
	if (err == CS_OK)
		err = audit(k, r, "admin",
		            json_pack("{s:s,s:s,s:I}", "op", "resource-put", "path", path,
		                      "version", (json_int_t)ver));
	return store_result(c, r, err);
}

/* ---- audit log (admin) ---- */

/* A page of the export is at most this many bytes of whole JSON lines (a record's body is at
 * most CS_STORE_VALUE_MAX, so a page always holds at least one). */
#define AUDIT_PAGE_MAX ((size_t)2 << 20)

/* A query argument that must be a decimal seq (1..2^53); absent: def. false when malformed. */
static bool
seq_arg(struct MHD_Connection *c, const char *name, uint64_t def, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	uint64_t n = 0;

	*out = def;
	if (v == NULL)
		return true;
	if (*v == '\0' || strlen(v) > 16)
		return false;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	if (n == 0 || n > ((uint64_t)1 << 53))
		return false;
	*out = n;
	return true;
}

/*
 * GET /kbs/v0/audit?from=N&to=M: records N..M (default 1..the last) as JSON lines, as
 * cs_store_audit_export writes them, at most AUDIT_PAGE_MAX bytes; a client pages on with
 * from = the last seq it got + 1 until a page is empty.
 */
static enum MHD_Result
h_audit_export(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	uint64_t from, to;
	struct cs_buf b;
	enum MHD_Result ret;
	enum cs_err err;

	if (!seq_arg(c, "from", 1, &from) || !seq_arg(c, "to", 0, &to) || (to != 0 && to < from))
		return problem(c, r, 400, "InvalidRequest",
		               "from and to are record numbers (1..2^53), from <= to");
	cs_buf_init(&b, AUDIT_PAGE_MAX);
	err = cs_store_audit_export(k->store, from, to, &b);
	if (err == CS_ERR_TOO_LARGE && b.len > 0)
		err = CS_OK; /* a full page of whole lines */
	if (err != CS_OK)
		ret = problem(c, r, 500, "PluginInternalError", cs_err_str(err));
	else
		ret = send_buf(c, r, 200, "application/x-ndjson", b.p, b.len, NULL);
	cs_buf_fini(&b);
	return ret;
}

/* GET /kbs/v0/audit/verify: {"intact": true, "records": n} or {"intact": false, "records": n,
 * "first_bad_seq": s} (the chain recomputed over every record, and the head's MAC). */
static enum MHD_Result
h_audit_verify(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	uint64_t count = 0, bad = 0;
	enum MHD_Result ret;
	enum cs_err err;
	json_t *o;

	err = cs_store_audit_verify(k->store, &count, &bad);
	if (err == CS_OK)
		o = json_pack("{s:b,s:I}", "intact", 1, "records", (json_int_t)count);
	else if (err == CS_ERR_VERIFY)
		o = json_pack("{s:b,s:I,s:I}", "intact", 0, "records", (json_int_t)count,
		              "first_bad_seq", (json_int_t)bad);
	else
		return problem(c, r, 500, "PluginInternalError", cs_err_str(err));
	snprintf(r->note, sizeof(r->note), "audit %s", err == CS_OK ? "intact" : "BROKEN");
	ret = o != NULL ? send_json(c, r, o, NULL) : MHD_NO;
	json_decref(o);
	return ret;
}

/* ---- metrics ---- */

static enum MHD_Result
h_metrics(struct cs_kbs *k, struct MHD_Connection *c, struct req *r)
{
	struct cs_buf b;
	enum MHD_Result ret;
	enum cs_err e = CS_OK;

	cs_buf_init(&b, (size_t)1 << 20);
	e = cs_buf_append_str(&b, "# HELP kbs_http_requests_total HTTP requests by route and "
	                          "status.\n# TYPE kbs_http_requests_total counter\n");
	for (int rt = 0; rt < R_COUNT_ && e == CS_OK; rt++)
		for (size_t i = 0; i < NCODES && e == CS_OK; i++) {
			unsigned long v = atomic_load(&k->m.requests[rt][i]);
			if (v != 0)
				e = cs_buf_printf(
				        &b,
				        "kbs_http_requests_total{route=\"%s\",code=\"%u\"} "
				        "%lu\n",
				        route_names[rt], codes[i], v);
		}
	if (e == CS_OK)
		e = cs_buf_append_str(&b, "# HELP kbs_http_request_duration_seconds Request "
		                          "latency.\n# TYPE kbs_http_request_duration_seconds "
		                          "histogram\n");
	for (int rt = 1; rt < R_COUNT_ && e == CS_OK; rt++) {
		unsigned long cum = 0;
		for (size_t i = 0; i <= NLAT && e == CS_OK; i++) {
			cum += atomic_load(&k->m.lat[rt][i]);
			if (i < NLAT)
				e = cs_buf_printf(&b,
				                  "kbs_http_request_duration_seconds_bucket{route="
				                  "\"%s\",le=\"%g\"} %lu\n",
				                  route_names[rt], lat_bounds[i], cum);
			else
				e = cs_buf_printf(
				        &b,
				        "kbs_http_request_duration_seconds_bucket{route="
				        "\"%s\",le=\"+Inf\"} %lu\n"
				        "kbs_http_request_duration_seconds_sum{route=\"%s\"} "
				        "%.6f\n"
				        "kbs_http_request_duration_seconds_count{route=\"%s\"}"
				        " %lu\n",
				        route_names[rt], cum, route_names[rt],
				        (double)atomic_load(&k->m.lat_sum_us[rt]) / 1e6,
				        route_names[rt], cum);
		}
	}
	if (e == CS_OK)
		e = cs_buf_append_str(&b, "# HELP kbs_attestations_total Attestations by TEE and "
		                          "verdict.\n# TYPE kbs_attestations_total counter\n");
	for (size_t t = 0; t < k->as.ntees && e == CS_OK; t++)
		for (int v = 0; v < V_COUNT_ && e == CS_OK; v++)
			e = cs_buf_printf(&b,
			                  "kbs_attestations_total{tee=\"%s\",verdict=\"%s\"} %lu\n",
			                  k->as.tees[t].ops->name, verdict_names[v],
			                  atomic_load(&k->m.attest[t][v]));
	if (e == CS_OK)
		e = cs_buf_printf(
		        &b,
		        "# HELP kbs_resource_releases_total Resources released.\n"
		        "# TYPE kbs_resource_releases_total counter\nkbs_resource_releases_total "
		        "%lu\n"
		        "# HELP kbs_resource_denials_total Resource requests denied by policy.\n"
		        "# TYPE kbs_resource_denials_total counter\nkbs_resource_denials_total "
		        "%lu\n"
		        "# HELP kbs_admin_auth_failures_total Failed admin attempts.\n"
		        "# TYPE kbs_admin_auth_failures_total counter\n"
		        "kbs_admin_auth_failures_total %lu\n"
		        "# HELP kbs_auth_rate_limited_total /auth requests refused by the rate "
		        "limit.\n"
		        "# TYPE kbs_auth_rate_limited_total counter\nkbs_auth_rate_limited_total "
		        "%lu\n",
		        atomic_load(&k->m.releases), atomic_load(&k->m.denials),
		        atomic_load(&k->m.admin_failures), atomic_load(&k->m.rate_limited));
	if (e == CS_OK)
		e = cs_buf_printf(
		        &b,
		        "# HELP kbs_audit_records_total Audit records committed (group "
		        "commit).\n# TYPE kbs_audit_records_total counter\n"
		        "kbs_audit_records_total %lu\n"
		        "# HELP kbs_audit_commit_failures_total Failed audit commits (retried).\n"
		        "# TYPE kbs_audit_commit_failures_total counter\n"
		        "kbs_audit_commit_failures_total %lu\n"
		        "# HELP kbs_resource_refusals_total Resource requests refused before the "
		        "policy (no token, bad token, malformed path).\n"
		        "# TYPE kbs_resource_refusals_total counter\n"
		        "kbs_resource_refusals_total %lu\n"
		        "# HELP kbs_audit_refusals_suppressed_total Refused resource requests not "
		        "audited (over the audit rate limit).\n"
		        "# TYPE kbs_audit_refusals_suppressed_total counter\n"
		        "kbs_audit_refusals_suppressed_total %lu\n",
		        atomic_load(&k->audit.records), atomic_load(&k->audit.failures),
		        atomic_load(&k->m.refusals), atomic_load(&k->m.refusals_suppressed));
	if (e == CS_OK)
		e = cs_buf_printf(&b,
		                  "# HELP kbs_token_cache_total Resource requests whose token was "
		                  "already verified (hit) or not (miss).\n"
		                  "# TYPE kbs_token_cache_total counter\n"
		                  "kbs_token_cache_total{result=\"hit\"} %lu\n"
		                  "kbs_token_cache_total{result=\"miss\"} %lu\n",
		                  atomic_load(&k->tokens.hits), atomic_load(&k->tokens.misses));
	if (e == CS_OK)
		e = cs_buf_printf(
		        &b,
		        "# HELP kbs_connections_refused_total Connections refused or closed "
		        "by the connection guard.\n"
		        "# TYPE kbs_connections_refused_total counter\n"
		        "kbs_connections_refused_total{reason=\"slow_request\"} %lu\n"
		        "kbs_connections_refused_total{reason=\"per_client_limit\"} %lu\n",
		        atomic_load(&k->guard.slow_closed), atomic_load(&k->guard.prefix_refused));
	if (e != CS_OK) {
		cs_buf_fini(&b);
		return problem(c, r, 500, "PrometheusError", "metrics too large");
	}
	ret = send_buf(c, r, 200, "text/plain; version=0.0.4", b.p, b.len, NULL);
	cs_buf_fini(&b);
	return ret;
}

/* ---- dispatch ---- */

/* Whether the request is for the admin API (and so passes admin_gate first). */
static bool
is_admin(const struct req *r)
{
	switch (r->route) {
	case R_RESOURCE:
		return strcmp(r->method, "GET") != 0;
	case R_RESOURCE_POLICY:
	case R_ATTEST_POLICY:
	case R_REFVAL:
	case R_REFVAL_GET:
	case R_AUDIT:
	case R_AUDIT_VERIFY:
		return true;
	default:
		return false;
	}
}

static enum MHD_Result
dispatch(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *url,
         const char *rest)
{
	enum MHD_Result g;

	if (is_admin(r) && ((g = admin_gate(k, c, r, url)) != MHD_YES || r->status != 0))
		return g;
	switch (r->route) {
	case R_AUTH:
		return h_auth(k, c, r);
	case R_ATTEST:
		return h_attest(k, c, r);
	case R_RESOURCE:
		if (strcmp(r->method, "GET") == 0)
			return h_resource_get(k, c, r, rest);
		return h_resource_admin(k, c, r, rest);
	case R_RESOURCE_POLICY:
	case R_ATTEST_POLICY:
		return h_policy(k, c, r);
	case R_REFVAL:
		return h_refval_post(k, c, r);
	case R_REFVAL_GET:
		return h_refval_get(k, c, r, rest);
	case R_AUDIT:
		return h_audit_export(k, c, r);
	case R_AUDIT_VERIFY:
		return h_audit_verify(k, c, r);
	case R_JWKS: {
		struct cs_buf b;
		enum MHD_Result ret;

		cs_buf_init(&b, 8192);
		ret = cs_ear_jwks(&k->as.signer, &b) == CS_OK
		              ? send_buf(c, r, 200, "application/jwk-set+json", b.p, b.len, NULL)
		              : problem(c, r, 500, "PluginInternalError", "JWKS");
		cs_buf_fini(&b);
		return ret;
	}
	case R_HEALTHZ:
		return send_buf(c, r, 200, "text/plain", "ok\n", 3, NULL);
	case R_METRICS:
		return h_metrics(k, c, r);
	case R_NONE:
	case R_COUNT_:
	default:
		return problem(c, r, 404, "PluginNotFound", "no such endpoint");
	}
}

/* Validates what can be validated before the body is read; MHD_YES with r->status == 0 when the
 * request may proceed. */
/*
 * A refusal decided before the body. Nothing of the body is ever stored; but a client that sends
 * its body without waiting (no "Expect: 100-continue") only reads the answer after writing it,
 * so a body of at most DRAIN_MAX bytes is read and discarded first, and the answer follows.
 * Bodies larger than that, or announced with Expect, are answered at once and the connection
 * closed.
 */
#define DRAIN_MAX ((uint64_t)16 << 20)

static enum MHD_Result
refuse(struct MHD_Connection *c, struct req *r, long long cl, unsigned status, const char *variant,
       const char *detail)
{
	bool expect =
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) != NULL;
	bool chunked = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                           MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;

	if (expect || (cl <= 0 && !chunked) || (cl > 0 && (uint64_t)cl > DRAIN_MAX))
		return problem(c, r, status, variant, detail);
	r->pend_status = status;
	r->pend_variant = variant;
	r->pend_detail = detail;
	return MHD_YES;
}

struct framing {
	unsigned content_length, transfer_encoding;
	bool chunked;  /* every Transfer-Encoding is exactly "chunked" */
	bool bad_name; /* whitespace in a header name */
};

static enum MHD_Result
framing_add(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	/* RFC 9112 section 5.1: no whitespace between a field name and the colon. MHD 0.9.75 keeps
	 * it in the name ("Content-Length : 5" is not its Content-Length; a proxy may trim it). */
	if (strpbrk(key, " \t") != NULL)
		f->bad_name = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->content_length++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->transfer_encoding++;
		f->chunked = f->transfer_encoding == 1 && value != NULL &&
		             strcasecmp(value, "chunked") == 0;
	}
	return MHD_YES;
}

/*
 * NULL when the body's length is unambiguous (RFC 9112 section 6.3): at most one Content-Length,
 * at most one Transfer-Encoding and only "chunked", never both, and no header name with
 * whitespace; else why not. A proxy in front that reads the other header than MHD does would
 * otherwise see a different request boundary (request smuggling).
 */
static const char *
framing_bad(struct MHD_Connection *c)
{
	struct framing f = {0};

	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, framing_add, &f);
	if (f.bad_name)
		return "whitespace in a header name";
	if (f.content_length > 1 || (f.content_length > 0 && f.transfer_encoding > 0) ||
	    (f.transfer_encoding > 0 && !f.chunked))
		return "ambiguous body length (repeated Content-Length or Transfer-Encoding, or "
		       "both)";
	return NULL;
}

/* Validates what can be validated before the body is read; MHD_YES with r->status == 0 and
 * r->pend_status == 0 when the request may proceed. */
static enum MHD_Result
precheck(struct cs_kbs *k, struct MHD_Connection *c, struct req *r, const char *url,
         const char **rest)
{
	long long cl = content_length(c);
	const char *bad = framing_bad(c);

	/* Answered at once: MHD closes a connection whose body it has not read. */
	if (bad != NULL)
		return problem(c, r, 400, "SerdeError", bad);
	if (cl == -2)
		return problem(c, r, 400, "SerdeError", "malformed Content-Length");
	r->route = route_of(url, rest);
	if (r->route == R_NONE)
		return refuse(c, r, cl, 404,
		              strncmp(url, "/kbs/v0/", 8) == 0 ? "PluginNotFound"
		                                               : "InvalidRequestPath",
		              "no such endpoint");
	if (!method_ok(r->route, r->method))
		return refuse(c, r, cl, 405, "MethodNotAllowed", "method not allowed here");
	if (r->route == R_RESOURCE && cs_kbs_resource_path_check(*rest, strlen(*rest)) != CS_OK) {
		if (strcmp(r->method, "GET") == 0) /* a release request; admin writes are not */
			audit_refused(k, r, NULL, NULL, "malformed path");
		return refuse(c, r, cl, 404, "InvalidRequestPath",
		              "resource path must be <repo>/<type>/<tag> of [A-Za-z0-9_.-]");
	}
	if (r->route == R_REFVAL_GET &&
	    (**rest == '\0' || strlen(*rest) > CS_STORE_NAME_MAX || strchr(*rest, '%') != NULL))
		return refuse(c, r, cl, 404, "InvalidRequestPath", "bad reference value name");
	if (strcmp(r->method, "POST") == 0 && wants_json(r->route) && !is_json_ctype(c))
		return refuse(c, r, cl, 415, "UnsupportedMediaType",
		              "Content-Type must be application/json");
	if (cl > (long long)k->cfg->body_max ||
	    (r->route == R_RESOURCE && cl > (long long)CS_STORE_VALUE_MAX))
		return refuse(c, r, cl, 413, "PayloadTooLarge", "request body too large");
	return MHD_YES;
}

/* The guard's handle of a connection (NULL when it was refused a place). */
static struct cs_cg_conn *
conn_guarded(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* MHD's accept policy: refuse a client prefix already at its connection limit. */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct cs_kbs *k = cls;

	(void)addrlen;
	return cs_connguard_admit(&k->guard, addr) ? MHD_YES : MHD_NO;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
	struct cs_kbs *k = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ai =
		        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fi =
		        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (fi == NULL)
			return;
		*socket_context = cs_connguard_open(&k->guard, ai != NULL ? ai->client_addr : NULL,
		                                    fi->connect_fd, cs_clock_mono_ns());
		/* Over the prefix limit (two accepts raced past the policy) or out of memory. */
		if (*socket_context == NULL)
			shutdown(fi->connect_fd, SHUT_RDWR);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		cs_connguard_close(&k->guard, *socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	struct cs_kbs *k = cls;
	struct req *r = *ctx;
	const char *rest = NULL;
	enum MHD_Result ret;

	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*ctx = r;
		r->t0 = cs_clock_mono_ns();
		cs_connguard_head_done(&k->guard, conn_guarded(c), r->t0); /* the body is due */
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", url);
		client_addr(c, r);
		cs_buf_init(&r->body, k->cfg->body_max);
		ret = precheck(k, c, r, url, &rest);
		if (r->status != 0)
			cs_connguard_busy(conn_guarded(c)); /* answered before the body */
		return ret;
	}
	if (r->status != 0) { /* already answered by the precheck: discard the body */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (r->pend_status == 0 && !r->too_large &&
		    cs_buf_append(&r->body, upload, *upload_size) != CS_OK) {
			r->too_large = true;
			cs_buf_fini(&r->body);
		}
		if (r->pend_status != 0 || r->too_large) {
			r->drained += *upload_size;
			if (r->drained > DRAIN_MAX)
				return MHD_NO; /* a chunked body without end: close */
		}
		*upload_size = 0;
		return MHD_YES;
	}
	cs_connguard_busy(conn_guarded(c)); /* the request is read: handled without a deadline */
	if (r->pend_status != 0)
		return problem(c, r, r->pend_status, r->pend_variant, r->pend_detail);
	if (r->too_large)
		return problem(c, r, 413, "PayloadTooLarge", "request body too large");
	(void)route_of(url, &rest);
	return dispatch(k, c, r, url, rest);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode tc)
{
	struct cs_kbs *k = cls;
	struct req *r = *ctx;
	uint64_t us;
	size_t i;

	if (r == NULL)
		return;
	/* The next request head on this connection is due within the head bound. */
	cs_connguard_idle(&k->guard, conn_guarded(c), cs_clock_mono_ns());
	us = (cs_clock_mono_ns() - r->t0) / 1000;
	for (i = 0; i < NCODES && codes[i] != r->status; i++)
		;
	if (i < NCODES)
		atomic_fetch_add(&k->m.requests[r->route][i], 1);
	for (i = 0; i < NLAT && (double)us / 1e6 > lat_bounds[i]; i++)
		;
	atomic_fetch_add(&k->m.lat[r->route][i], 1);
	atomic_fetch_add(&k->m.lat_sum_us[r->route], us);
	if (k->cfg->log != NULL) {
		struct cs_buf line;
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:s*,s:s*,s:b}", "ev",
		                      "request", "client", r->client, "method", r->method, "path",
		                      r->path, "status", (int)r->status, "us", (json_int_t)us,
		                      "bytes_in", (json_int_t)r->body.len, "error", r->variant,
		                      "note", r->note[0] ? r->note : NULL, "completed",
		                      tc == MHD_REQUEST_TERMINATED_COMPLETED_OK);
		cs_buf_init(&line, 4096);
		if (o != NULL && cs_json_dump(&line, o) == CS_OK)
			k->cfg->log(k->cfg->log_ctx, (const char *)line.p);
		cs_buf_fini(&line);
		json_decref(o);
	}
	/* Housekeeping rides on requests: expired nonce records are purged once a minute. */
	uint64_t now = cs_clock_mono_ns(), last = atomic_load(&k->last_purge_ns);
	if (now - last > PURGE_EVERY_NS &&
	    atomic_compare_exchange_strong(&k->last_purge_ns, &last, now)) {
		/* A failed purge only delays it to the next minute. */
		enum cs_err perr = cs_store_nonce_purge(k->store, cs_clock_now(), NULL);
		(void)perr;
	}
	cs_buf_fini(&r->body);
	free(r);
	*ctx = NULL;
}

/* The request target is used exactly as received: no percent-decoding (see the header). */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum cs_err
parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	long port;
	char *end;

	ENSURE(colon != NULL && (size_t)(colon - s) < sizeof(host), CS_ERR_CONFIG);
	port = strtol(colon + 1, &end, 10);
	ENSURE(*end == '\0' && colon[1] != '\0' && port >= 0 && port <= 65535, CS_ERR_CONFIG);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		size_t hl = strlen(host);

		ENSURE(hl > 2 && host[hl - 1] == ']', CS_ERR_CONFIG);
		host[hl - 1] = '\0';
		ENSURE(inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1, CS_ERR_CONFIG);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*v6 = true;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		ENSURE(inet_pton(AF_INET, host, &a4->sin_addr) == 1, CS_ERR_CONFIG);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*v6 = false;
	}
	return CS_OK;
}

/*
 * Reads a PEM file of less than 1 MiB; returns owned NUL-terminated text and its length in *len,
 * or NULL. With secret (a private key) stdio does not buffer, the result lives in cs_secure_alloc
 * memory (release with cs_secure_free(p, *len + 1)) and the read buffer is wiped on every path.
 */
static char *
read_text(const char *path, bool secret, size_t *len)
{
	const size_t max = (size_t)1 << 20;
	FILE *f = fopen(path, "rb");
	char *buf, *out = NULL;
	size_t n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (secret)
		setvbuf(f, NULL, _IONBF, 0);
	buf = malloc(max);
	n = buf != NULL ? fread(buf, 1, max - 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return NULL;
	if (n > 0 && n < max - 1) {
		out = secret ? cs_secure_alloc(n + 1) : malloc(n + 1);
		if (out != NULL) {
			memcpy(out, buf, n);
			out[n] = '\0';
			*len = n;
		}
	}
	if (secret)
		cs_wipe(buf, n);
	free(buf);
	return out;
}

static void
say(char *why, size_t why_len, const char *what, enum cs_err err)
{
	if (why_len > 0)
		snprintf(why, why_len, "%s: %s", what, cs_err_str(err));
}

enum cs_err
cs_kbs_start(const struct cs_kbs_config *cfg, struct cs_kbs **out, char *why, size_t why_len)
{
	struct sockaddr_storage ss;
	struct cs_verify_cfg vcfg[CS_KBS_MAX_TEES] = {0};
	unsigned flags, threads = cfg->threads;
	struct cs_kbs *k;
	enum cs_err err;
	bool v6;
	const union MHD_DaemonInfo *di;

	*out = NULL;
	if ((err = parse_listen(cfg->listen, &ss, &v6)) != CS_OK) {
		say(why, why_len, "listen address", err);
		return err;
	}
	k = calloc(1, sizeof(*k));
	ENSURE(k != NULL, CS_ERR_NOMEM);
	k->cfg = cfg;
	struct cs_store_opts sopts = {.master_key_path = cfg->master_key};
	if ((err = cs_store_open(cfg->store_url, &sopts, &k->store)) != CS_OK) {
		say(why, why_len, cfg->master_key != NULL ? "store (master key file)" : "store",
		    err);
		goto fail;
	}
	if ((k->session_key = cs_secure_alloc(CS_SESSION_KEY_LEN)) == NULL) {
		err = CS_ERR_NOMEM;
		say(why, why_len, "session key", err);
		goto fail;
	}
	if ((err = cs_session_key_load(cfg->session_key, k->session_key)) != CS_OK) {
		say(why, why_len, "session key", err);
		goto fail;
	}
	for (size_t i = 0; i < cfg->ntees; i++) {
		vcfg[i].offline = true;
		for (size_t j = 0; j < cfg->nverifiers; j++) {
			const struct cs_kbs_verifier *v = &cfg->verifiers[j];

			if (strcmp(v->tee, cfg->tees[i]) != 0)
				continue;
			vcfg[i].roots_dir = v->roots;
			vcfg[i].collateral_dir = v->collateral;
			vcfg[i].kds_base = v->kds;
			vcfg[i].offline = !v->online;
		}
	}
	if ((err = cs_as_init(&k->as, (const char *const *)cfg->tees, cfg->ntees, vcfg,
	                      cfg->signer_key)) != CS_OK) {
		if (k->as.failed != NULL && why_len > 0)
			snprintf(why, why_len, "verifier %s: %s%s", k->as.failed, cs_err_str(err),
			         err == CS_ERR_CONFIG
			                 ? " (sim-* TEEs need \"verifiers\": {\"<tee>\": "
			                   "{\"roots\": DIR}})"
			                 : "");
		else
			say(why, why_len, "attestation service", err);
		goto fail;
	}
	k->as.token_ttl = cfg->token_ttl;
	k->as.iss = "custos-kbs";
	k->as.build = "custos-kbs " CS_KBS_VERSION;
	k->as.refvals.get = refval_get;
	k->as.refvals.ctx = k;
	k->as.store = k->store;
	if ((err = cs_tokcache_init(&k->tokens)) != CS_OK) {
		say(why, why_len, "token cache", err);
		goto fail;
	}
	if ((err = cs_audit_start(&k->audit, k->store)) != CS_OK) {
		say(why, why_len, "audit writer", err);
		goto fail;
	}
	if ((err = cs_admin_init(&k->admin, cfg)) != CS_OK) {
		say(why, why_len, "admin key", err);
		goto fail;
	}
	if (!cs_rl_init(&k->rl, cfg->auth_rate, cfg->auth_burst) ||
	    !cs_rl_init(&k->refused_rl, REFUSED_RATE, REFUSED_BURST)) {
		err = CS_ERR_NOMEM;
		goto fail;
	}
	cs_rl_set_global(&k->refused_rl, REFUSED_ALL_RATE, REFUSED_ALL_BURST);
	if ((err = cs_connguard_init(&k->guard, cfg->conn_max, cfg->per_ip_max,
	                             (uint64_t)cfg->head_timeout_s * 1000000000ull,
	                             (uint64_t)cfg->body_timeout_s * 1000000000ull)) != CS_OK ||
	    (err = cs_connguard_start(&k->guard)) != CS_OK) {
		say(why, why_len, "connection guard", err);
		goto fail;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert != NULL) {
		size_t cert_len;

		k->tls_cert = read_text(cfg->tls_cert, false, &cert_len);
		k->tls_key = read_text(cfg->tls_key, true, &k->tls_key_len);
		if (k->tls_cert == NULL || k->tls_key == NULL) {
			err = CS_ERR_IO;
			say(why, why_len, "TLS certificate or key", err);
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	struct MHD_OptionItem opts[] = {
	        {MHD_OPTION_SOCK_ADDR, 0, &ss},
	        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL},
	        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->conn_max, NULL},
	        /* Connections per client are counted by the guard's accept policy (per IPv4
	         * address and IPv6 /64, a superset of MHD's per-address limit, and in metrics). */
	        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->timeout_s, NULL},
	        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->header_max, NULL},
	        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, k},
	        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, k},
	        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL},
	        /* Strict HTTP/1.1: no Host, or a space in the request target, is a 400 (MHD's own,
	         * see ARCHITECTURE.md; whitespace before a colon is checked in framing_bad). */
	        {MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL},
	        {k->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, k->tls_cert},
	        {k->tls_key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, k->tls_key},
	        {MHD_OPTION_END, 0, NULL},
	};
	k->d = MHD_start_daemon(flags, 0, on_accept, k, on_request, k, MHD_OPTION_ARRAY, opts,
	                        MHD_OPTION_END);
	if (k->d == NULL) {
		err = CS_ERR_NETWORK;
		say(why, why_len, "cannot listen", err);
		goto fail;
	}
	di = MHD_get_daemon_info(k->d, MHD_DAEMON_INFO_BIND_PORT);
	k->port = di != NULL ? di->port : 0;
	*out = k;
	return CS_OK;
fail:
	cs_kbs_stop(k);
	return err;
}

uint16_t
cs_kbs_port(const struct cs_kbs *k)
{
	return k->port;
}

void
cs_kbs_stop(struct cs_kbs *k)
{
	if (k == NULL)
		return;
	if (k->d != NULL) {
		/* Graceful: stop accepting, let in-flight requests finish (idle keep-alive
		 * connections are not waited for beyond STOP_WAIT_MS), then stop the workers. */
		MHD_socket ls = MHD_quiesce_daemon(k->d);

		/* The descriptor must stay open until MHD_stop_daemon, but it can stop listening
		 * now (Linux: shutdown() of a listening socket refuses further connections). */
		if (ls != MHD_INVALID_SOCKET)
			shutdown(ls, SHUT_RDWR);
		for (int i = 0; i < STOP_WAIT_MS / 10; i++) {
			const union MHD_DaemonInfo *di =
			        MHD_get_daemon_info(k->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
			struct timespec ts = {0, 10 * 1000 * 1000};

			if (di == NULL || di->num_connections == 0)
				break;
			nanosleep(&ts, NULL);
		}
		MHD_stop_daemon(k->d); /* waits for the worker threads */
		if (ls != MHD_INVALID_SOCKET)
			close(ls);
	}
	cs_audit_stop(&k->audit); /* after the daemon: every request's events are queued */
	/* After the daemon too: no connection is left for the reaper. */
	cs_connguard_fini(&k->guard);
	cs_tokcache_fini(&k->tokens);
	cs_rl_fini(&k->rl);
	cs_rl_fini(&k->refused_rl);
	cs_admin_fini(&k->admin);
	cs_as_fini(&k->as);
	cs_store_free(k->store);
	cs_secure_free(k->session_key, CS_SESSION_KEY_LEN);
	if (k->tls_key != NULL)
		cs_secure_free(k->tls_key, k->tls_key_len + 1);
	free(k->tls_cert);
	free(k);
}
