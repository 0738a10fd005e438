/*
 * custos-kbs configuration: defaults, a strict JSON file, and the completion step (see kbs.h).
 * JSON because the project already parses it strictly (src/base/json.h: size and depth limits,
 * duplicate keys refused); a TOML subset would be a second parser to harden for no gain.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "kbs/kbs.h"
#include "tee/tee.h"

#define CONFIG_MAX ((size_t)1 << 20)

void
cs_kbs_config_init(struct cs_kbs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->body_max = (size_t)2 << 20;
	c->header_max = (size_t)64 << 10;
	c->conn_max = 1024;
	c->per_ip_max = 16;
	c->timeout_s = 30;
	c->head_timeout_s = 10;
	c->body_timeout_s = 30;
	c->session_ttl = 300;
	c->token_ttl = 300;
	c->auth_rate = 10;
	c->auth_burst = 20;
}

void
cs_kbs_config_fini(struct cs_kbs_config *c)
{
	free(c->listen);
	free(c->data_dir);
	free(c->store_url);
	free(c->master_key);
	free(c->session_key);
	free(c->signer_key);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->admin_key);
	for (size_t i = 0; i < c->ntees; i++)
		free(c->tees[i]);
	for (size_t i = 0; i < c->nverifiers; i++) {
		free(c->verifiers[i].tee);
		free(c->verifiers[i].roots);
		free(c->verifiers[i].collateral);
		free(c->verifiers[i].kds);
	}
	for (size_t i = 0; i < c->nroles; i++) {
		free(c->roles[i].name);
		for (size_t j = 0; j < c->roles[i].n; j++)
			free(c->roles[i].endpoints[j]);
	}
	json_decref(c->refvals);
	memset(c, 0, sizeof(*c));
}

static void say(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* Replaces *dst with a copy of the string member key of o when present. */
static enum cs_err
opt_str(const json_t *o, const char *key, char **dst)
{
	const char *s;
	size_t n;
	char *copy;

	if (json_object_get(o, key) == NULL)
		return CS_OK;
	TRY(cs_json_get_str(o, key, &s, &n));
	ENSURE(n > 0 && n < 4096, CS_ERR_CONFIG);
	copy = strdup(s);
	ENSURE(copy != NULL, CS_ERR_NOMEM);
	free(*dst);
	*dst = copy;
	return CS_OK;
}

static enum cs_err
opt_uint(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *dst)
{
	int64_t v;

	if (json_object_get(o, key) == NULL)
		return CS_OK;
	TRY(cs_json_get_int(o, key, &v));
	ENSURE(v >= lo && v <= hi, CS_ERR_CONFIG);
	*dst = v;
	return CS_OK;
}

/* Every member of o must be in names[] (NULL-terminated). */
static enum cs_err
only(const json_t *o, const char *const *names, const char **bad)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		size_t i = 0;

		(void)v;
		while (names[i] != NULL && strcmp(names[i], key) != 0)
			i++;
		if (names[i] == NULL) {
			*bad = key;
			return CS_ERR_CONFIG;
		}
	}
	return CS_OK;
}

/* Adds tee to the enabled list unless present. */
static enum cs_err
add_tee(struct cs_kbs_config *c, const char *tee)
{
	for (size_t i = 0; i < c->ntees; i++)
		if (strcmp(c->tees[i], tee) == 0)
			return CS_OK;
	ENSURE(c->ntees < CS_KBS_MAX_TEES, CS_ERR_CONFIG);
	c->tees[c->ntees] = strdup(tee);
	ENSURE(c->tees[c->ntees] != NULL, CS_ERR_NOMEM);
	c->ntees++;
	return CS_OK;
}

static enum cs_err
load_limits(struct cs_kbs_config *c, const json_t *l, const char **bad)
{
	static const char *const names[] = {
	        "body_bytes", "header_bytes", "connections",    "connections_per_client",
	        "timeout_s",  "threads",      "head_timeout_s", "body_timeout_s",
	        NULL};
	int64_t body = (int64_t)c->body_max, hdr = (int64_t)c->header_max, conn = c->conn_max,
	        per = c->per_ip_max, to = c->timeout_s, thr = c->threads, hto = c->head_timeout_s,
	        bto = c->body_timeout_s;

	ENSURE(json_is_object(l), CS_ERR_CONFIG);
	TRY(only(l, names, bad));
	TRY(opt_uint(l, "body_bytes", 1024, (int64_t)64 << 20, &body));
	TRY(opt_uint(l, "header_bytes", 4096, (int64_t)1 << 20, &hdr));
	TRY(opt_uint(l, "connections", 1, 65536, &conn));
	TRY(opt_uint(l, "connections_per_client", 0, 65536, &per));
	TRY(opt_uint(l, "timeout_s", 1, 3600, &to));
	TRY(opt_uint(l, "threads", 0, 1024, &thr));
	TRY(opt_uint(l, "head_timeout_s", 1, 3600, &hto));
	TRY(opt_uint(l, "body_timeout_s", 1, 3600, &bto));
	c->body_max = (size_t)body;
	c->header_max = (size_t)hdr;
	c->conn_max = (unsigned)conn;
	c->per_ip_max = (unsigned)per;
	c->timeout_s = (unsigned)to;
	c->threads = (unsigned)thr;
	c->head_timeout_s = (unsigned)hto;
	c->body_timeout_s = (unsigned)bto;
	return CS_OK;
}

static enum cs_err
load_admin(struct cs_kbs_config *c, const json_t *a, const char **bad)
{
	static const char *const names[] = {"public_key", "insecure", "roles", NULL};
	const json_t *roles, *eps, *e;
	const char *name;
	size_t i;
	int ins;

	ENSURE(json_is_object(a), CS_ERR_CONFIG);
	TRY(only(a, names, bad));
	TRY(opt_str(a, "public_key", &c->admin_key));
	if (json_object_get(a, "insecure") != NULL) {
		TRY(cs_json_get_bool(a, "insecure", &ins));
		c->insecure_admin = ins != 0;
	}
	roles = json_object_get(a, "roles");
	if (roles == NULL)
		return CS_OK;
	ENSURE(json_is_object(roles), CS_ERR_CONFIG);
	json_object_foreach((json_t *)roles, name, eps)
	{
		struct cs_kbs_role *r;

		ENSURE(c->nroles < CS_KBS_MAX_ROLES && json_is_array(eps), CS_ERR_CONFIG);
		ENSURE(json_array_size(eps) <= CS_KBS_MAX_ENDPOINTS, CS_ERR_CONFIG);
		r = &c->roles[c->nroles++];
		r->name = strdup(name);
		ENSURE(r->name != NULL, CS_ERR_NOMEM);
		json_array_foreach(eps, i, e)
		{
			const char *s = json_string_value(e);

			ENSURE(s != NULL && strchr(s, ' ') != NULL, CS_ERR_CONFIG);
			r->endpoints[r->n] = strdup(s);
			ENSURE(r->endpoints[r->n] != NULL, CS_ERR_NOMEM);
			r->n++;
		}
	}
	return CS_OK;
}

/* The settings of tee's verifier, created empty when absent (NULL when the table is full). */
static struct cs_kbs_verifier *
verifier_of(struct cs_kbs_config *c, const char *tee)
{
	for (size_t i = 0; i < c->nverifiers; i++)
		if (strcmp(c->verifiers[i].tee, tee) == 0)
			return &c->verifiers[i];
	if (c->nverifiers >= CS_KBS_MAX_TEES)
		return NULL;
	c->verifiers[c->nverifiers].tee = strdup(tee);
	if (c->verifiers[c->nverifiers].tee == NULL)
		return NULL;
	return &c->verifiers[c->nverifiers++];
}

static enum cs_err
load_verifiers(struct cs_kbs_config *c, const json_t *o, const char **bad)
{
	static const char *const names[] = {"roots", "collateral", "online", "kds", NULL};
	const char *tee;
	json_t *v;
	int online;

	*bad = "verifiers";
	ENSURE(json_is_object(o), CS_ERR_CONFIG);
	json_object_foreach((json_t *)o, tee, v)
	{
		struct cs_kbs_verifier *ver;

		*bad = tee;
		ENSURE(cs_tee_find(tee) != NULL && json_is_object(v), CS_ERR_CONFIG);
		TRY(only(v, names, bad));
		ver = verifier_of(c, tee);
		ENSURE(ver != NULL, CS_ERR_NOMEM);
		TRY(opt_str(v, "roots", &ver->roots));
		TRY(opt_str(v, "collateral", &ver->collateral));
		TRY(opt_str(v, "kds", &ver->kds));
		ENSURE(ver->kds == NULL || strcmp(tee, "snp") == 0, CS_ERR_CONFIG); /* SNP's only */
		if (json_object_get(v, "online") != NULL) {
			TRY(cs_json_get_bool(v, "online", &online));
			ver->online = online != 0;
		}
	}
	return CS_OK;
}

static enum cs_err
load_obj(struct cs_kbs_config *c, const json_t *o, const char **bad)
{
	static const char *const names[] = {
	        "listen",      "data",      "store", "master_key",       "session_key",
	        "signer_key",  "tls",       "tees",  "limits",           "session_ttl_s",
	        "token_ttl_s", "auth_rate", "admin", "reference_values", "verifiers",
	        "audit_sync",  NULL};
	static const char *const tls_names[] = {"cert", "key", NULL};
	static const char *const rate_names[] = {"per_second", "burst", NULL};
	const json_t *v, *e;
	size_t i;

	ENSURE(json_is_object(o), CS_ERR_CONFIG);
	TRY(only(o, names, bad));
	TRY(opt_str(o, "listen", &c->listen));
	TRY(opt_str(o, "data", &c->data_dir));
	TRY(opt_str(o, "store", &c->store_url));
	*bad = "master_key";
	TRY(opt_str(o, "master_key", &c->master_key));
	*bad = "";
	TRY(opt_str(o, "session_key", &c->session_key));
	TRY(opt_str(o, "signer_key", &c->signer_key));
	if ((v = json_object_get(o, "tls")) != NULL) {
		*bad = "tls";
		ENSURE(json_is_object(v), CS_ERR_CONFIG);
		TRY(only(v, tls_names, bad));
		TRY(opt_str(v, "cert", &c->tls_cert));
		TRY(opt_str(v, "key", &c->tls_key));
	}
	if ((v = json_object_get(o, "tees")) != NULL) {
		*bad = "tees";
		ENSURE(json_is_array(v), CS_ERR_CONFIG);
		json_array_foreach(v, i, e)
		{
			ENSURE(json_is_string(e) && cs_tee_find(json_string_value(e)) != NULL,
			       CS_ERR_CONFIG);
			TRY(add_tee(c, json_string_value(e)));
		}
	}
	if ((v = json_object_get(o, "limits")) != NULL)
		TRY(load_limits(c, v, bad));
	*bad = "session_ttl_s";
	TRY(opt_uint(o, "session_ttl_s", 10, 86400, &c->session_ttl));
	*bad = "token_ttl_s";
	TRY(opt_uint(o, "token_ttl_s", 10, 86400, &c->token_ttl));
	if ((v = json_object_get(o, "auth_rate")) != NULL) {
		*bad = "auth_rate";
		ENSURE(json_is_object(v), CS_ERR_CONFIG);
		TRY(only(v, rate_names, bad));
		e = json_object_get(v, "per_second");
		if (e != NULL) {
			ENSURE(json_is_number(e) && json_number_value(e) > 0, CS_ERR_CONFIG);
			c->auth_rate = json_number_value(e);
		}
		e = json_object_get(v, "burst");
		if (e != NULL) {
			ENSURE(json_is_number(e) && json_number_value(e) >= 1, CS_ERR_CONFIG);
			c->auth_burst = json_number_value(e);
		}
	}
	if ((v = json_object_get(o, "admin")) != NULL)
		TRY(load_admin(c, v, bad));
	if (json_object_get(o, "audit_sync") != NULL) {
		int b;
		*bad = "audit_sync";
		TRY(cs_json_get_bool(o, "audit_sync", &b));
		c->audit_sync = b != 0;
	}
	if ((v = json_object_get(o, "verifiers")) != NULL)
		TRY(load_verifiers(c, v, bad));
	if ((v = json_object_get(o, "reference_values")) != NULL) {
		*bad = "reference_values";
		ENSURE(json_is_object(v), CS_ERR_CONFIG);
		json_decref(c->refvals);
		c->refvals = json_deep_copy(v);
		ENSURE(c->refvals != NULL, CS_ERR_NOMEM);
	}
	return CS_OK;
}

enum cs_err
cs_kbs_config_load(struct cs_kbs_config *c, const char *path, char *why, size_t why_len)
{
	const char *bad = "";
	uint8_t *text = NULL;
	size_t n = 0;
	enum cs_err err;
	json_t *o = NULL;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		say(why, why_len, "cannot open %s", path);
		return CS_ERR_IO;
	}
	text = malloc(CONFIG_MAX + 1);
	if (text != NULL)
		n = fread(text, 1, CONFIG_MAX + 1, f);
	fclose(f);
	if (text == NULL)
		return CS_ERR_NOMEM;
	err = n > CONFIG_MAX ? CS_ERR_TOO_LARGE : cs_json_parse(text, n, CONFIG_MAX, &o);
	free(text);
	if (err != CS_OK) {
		say(why, why_len, "%s: %s", path, cs_err_str(err));
		return err;
	}
	err = load_obj(c, o, &bad);
	if (err != CS_OK)
		say(why, why_len, "%s: member \"%s\": %s", path, bad, cs_err_str(err));
	json_decref(o);
	return err;
}

/* *dst = prefix dir suffix, unless already set. */
static enum cs_err
derive(char **dst, const char *prefix, const char *dir, const char *suffix)
{
	char *s;

	if (*dst != NULL)
		return CS_OK;
	ENSURE(dir != NULL, CS_ERR_CONFIG);
	ENSURE(asprintf(&s, "%s%s%s", prefix, dir, suffix) > 0, CS_ERR_NOMEM);
	*dst = s;
	return CS_OK;
}

/* What a sample attestation must match to appraise as affirming under the built-in policy (the
 * values Trustee's sample verifier always reports). Seeded only in dev mode. */
static const char dev_refvals[] =
        "{\"svn\":[\"1\"],\"launch_digest\":[\"abcde\"],\"major_version\":1,"
        "\"minimum_minor_version\":0}";

/*
 * Dev mode enables a simulated TEE when its test roots are known: from "verifiers", else from the
 * simulator's own state directory $CUSTOS_SIM_<NAME>_DIR (the one its attester signs with).
 */
static enum cs_err
dev_sim(struct cs_kbs_config *c, const char *tee)
{
	struct cs_kbs_verifier *v;
	char env[64];
	const char *dir;
	size_t n = 0;

	n += (size_t)snprintf(env, sizeof(env), "CUSTOS_");
	for (const char *p = tee; *p != '\0' && n + 5 < sizeof(env); p++)
		env[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	snprintf(env + n, sizeof(env) - n, "_DIR");
	v = verifier_of(c, tee);
	ENSURE(v != NULL, CS_ERR_NOMEM);
	if (v->roots == NULL && (dir = getenv(env)) != NULL && *dir != '\0' &&
	    (v->roots = strdup(dir)) == NULL)
		return CS_ERR_NOMEM;
	return v->roots != NULL ? add_tee(c, tee) : CS_OK;
}

enum cs_err
cs_kbs_config_finish(struct cs_kbs_config *c, char *why, size_t why_len)
{
	static const char *const sims[] = {"sim-snp", "sim-tdx", "sim-nvidia"};

	if (c->listen == NULL && (c->listen = strdup("127.0.0.1:8080")) == NULL)
		return CS_ERR_NOMEM;
	if (c->data_dir == NULL &&
	    (c->store_url == NULL || c->session_key == NULL || c->signer_key == NULL)) {
		say(why, why_len, "no data directory (--data DIR or \"data\")");
		return CS_ERR_CONFIG;
	}
	TRY(derive(&c->store_url, "sqlite://", c->data_dir, "/kbs.db"));
	TRY(derive(&c->session_key, "", c->data_dir, "/session.key"));
	TRY(derive(&c->signer_key, "", c->data_dir, "/token-signer.pem"));
	/* A shared database needs the one key every replica is given; no default can be right. */
	if (c->master_key == NULL && (strncmp(c->store_url, "postgresql://", 13) == 0 ||
	                              strncmp(c->store_url, "postgres://", 11) == 0)) {
		say(why, why_len, "%s",
		    "a PostgreSQL store needs \"master_key\" (--master-key FILE), the same key file"
		    " on every replica");
		return CS_ERR_CONFIG;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		say(why, why_len, "TLS needs both a certificate and a key");
		return CS_ERR_CONFIG;
	}
	if (c->dev) {
		TRY(add_tee(c, "sample"));
		for (size_t i = 0; i < sizeof(sims) / sizeof(sims[0]); i++)
			if (cs_tee_find(sims[i]) != NULL)
				TRY(dev_sim(c, sims[i]));
		if (c->refvals == NULL) {
			json_error_t je;
			c->refvals = json_loads(dev_refvals, 0, &je);
			ENSURE(c->refvals != NULL, CS_ERR_NOMEM);
		}
	}
	return CS_OK;
}
