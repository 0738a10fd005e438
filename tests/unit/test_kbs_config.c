/*
 * custos-kbs configuration: defaults, a full file, every member's type and range refused with
 * the member named, unknown members refused, derived paths, TLS pairs, and dev mode (sample on
 * with its reference values, a sim only when its test roots are known).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbs/kbs.h"
#include "t.h"

static char dir[] = "/tmp/cs-kbs-config-XXXXXX";

static enum cs_err
load(const char *text, struct cs_kbs_config *c, char *why, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/c.json", dir);
	f = fopen(path, "wb");
	fputs(text, f);
	fclose(f);
	cs_kbs_config_init(c);
	return cs_kbs_config_load(c, path, why, n);
}

static void
test_defaults(void)
{
	struct cs_kbs_config c;
	char why[256];

	cs_kbs_config_init(&c);
	CHECK(c.ntees == 0 && !c.dev && !c.insecure_admin && c.admin_key == NULL);
	CHECK(c.body_max == 2u << 20 && c.session_ttl == 300 && c.token_ttl == 300);
	/* No data directory: nowhere for the store and keys. */
	CHECK_ERR(cs_kbs_config_finish(&c, why, sizeof(why)), CS_ERR_CONFIG);
	c.data_dir = strdup("/var/lib/k");
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	CHECK_STR(c.store_url, "sqlite:///var/lib/k/kbs.db");
	CHECK_STR(c.session_key, "/var/lib/k/session.key");
	CHECK_STR(c.signer_key, "/var/lib/k/token-signer.pem");
	CHECK_STR(c.listen, "127.0.0.1:8080");
	CHECK(c.ntees == 0 && c.refvals == NULL); /* nothing enabled outside dev mode */
	cs_kbs_config_fini(&c);
}

static void
test_full(void)
{
	struct cs_kbs_config c;
	char why[256] = "";

	CHECK_OK(load(
	        "{\"listen\":\"[::1]:9\",\"data\":\"/d\",\"tees\":[\"sample\"],"
	        "\"limits\":{\"body_bytes\":4096,\"timeout_s\":5,\"threads\":2,"
	        "\"head_timeout_s\":3,\"body_timeout_s\":4},"
	        "\"session_ttl_s\":60,\"token_ttl_s\":120,"
	        "\"auth_rate\":{\"per_second\":0.5,\"burst\":3},\"audit_sync\":true,"
	        "\"admin\":{\"public_key\":\"/k.pem\",\"roles\":{\"r\":[\"GET /kbs/v0/*\"]}},"
	        "\"verifiers\":{\"sample\":{\"roots\":\"/r\",\"online\":true}},"
	        "\"reference_values\":{\"svn\":[\"1\"]},\"tls\":{\"cert\":\"/c\",\"key\":\"/k\"}}",
	        &c, why, sizeof(why)));
	CHECK_STR(c.listen, "[::1]:9");
	CHECK(c.ntees == 1 && strcmp(c.tees[0], "sample") == 0);
	CHECK(c.body_max == 4096 && c.timeout_s == 5 && c.threads == 2);
	CHECK(c.head_timeout_s == 3 && c.body_timeout_s == 4);
	CHECK(c.per_ip_max == 16); /* the default (per IPv4 address or IPv6 /64) */
	CHECK(c.session_ttl == 60 && c.token_ttl == 120 && c.audit_sync);
	CHECK(c.auth_rate == 0.5 && c.auth_burst == 3);
	CHECK(c.nroles == 1 && c.roles[0].n == 1);
	CHECK(c.nverifiers == 1 && strcmp(c.verifiers[0].roots, "/r") == 0 &&
	      c.verifiers[0].online);
	CHECK(json_is_array(json_object_get(c.refvals, "svn")));
	CHECK(c.verifiers[0].kds == NULL);
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	cs_kbs_config_fini(&c);
	/* The SNP verifier's KDS base URL. */
	CHECK_OK(load("{\"data\":\"/d\",\"verifiers\":{\"snp\":{\"kds\":\"https://kds.example\"}}}",
	              &c, why, sizeof(why)));
	CHECK(c.nverifiers == 1 && strcmp(c.verifiers[0].tee, "snp") == 0);
	CHECK(c.verifiers[0].kds != NULL && strcmp(c.verifiers[0].kds, "https://kds.example") == 0);
	cs_kbs_config_fini(&c);
}

static void
test_refusals(void)
{
	static const struct {
		const char *text, *named;
	} bad[] = {
	        {"{\"sesion_ttl_s\":5}", "sesion_ttl_s"},
	        {"{\"session_ttl_s\":\"5\"}", "session_ttl_s"},
	        {"{\"session_ttl_s\":1}", "session_ttl_s"},
	        {"{\"tees\":[\"no-such-tee\"]}", "tees"},
	        {"{\"tees\":\"sample\"}", "tees"},
	        {"{\"limits\":{\"body_bytes\":10}}", ""},
	        {"{\"limits\":{\"bodybytes\":4096}}", "bodybytes"},
	        {"{\"admin\":{\"insecure\":\"yes\"}}", ""},
	        {"{\"admin\":{\"roles\":{\"r\":[\"no-space\"]}}}", ""},
	        {"{\"auth_rate\":{\"per_second\":0}}", "auth_rate"},
	        {"{\"verifiers\":{\"nope\":{}}}", "nope"},
	        {"{\"verifiers\":{\"sample\":{\"root\":\"/r\"}}}", "root"},
	        {"{\"verifiers\":{\"sample\":{\"kds\":\"https://k\"}}}", "sample"}, /* SNP only */
	        {"{\"verifiers\":{\"snp\":{\"kds\":1}}}", "snp"},
	        {"{\"tls\":{\"cert\":\"\"}}", ""},
	        {"{\"listen\":1}", ""},
	        {"[]", ""},
	        {"{\"listen\":\"a\",\"listen\":\"b\"}", ""},
	        {"{", ""},
	};
	struct cs_kbs_config c;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK(load(bad[i].text, &c, why, sizeof(why)) != CS_OK);
		CHECK(why[0] != '\0');
		if (bad[i].named[0] != '\0' && strstr(why, bad[i].named) == NULL)
			CHECK_STR(why, bad[i].named);
		cs_kbs_config_fini(&c);
	}
	/* A certificate without its key. */
	CHECK_OK(load("{\"data\":\"/d\",\"tls\":{\"cert\":\"/c\"}}", &c, why, sizeof(why)));
	CHECK_ERR(cs_kbs_config_finish(&c, why, sizeof(why)), CS_ERR_CONFIG);
	cs_kbs_config_fini(&c);
}

static void
test_dev(void)
{
	struct cs_kbs_config c;
	char why[256];
	bool sim;

	unsetenv("CUSTOS_SIM_SNP_DIR");
	cs_kbs_config_init(&c);
	c.dev = true;
	c.data_dir = strdup("/d");
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	CHECK(c.ntees == 1 && strcmp(c.tees[0], "sample") == 0); /* no sim without its roots */
	CHECK(json_is_array(json_object_get(c.refvals, "svn")));
	cs_kbs_config_fini(&c);

	setenv("CUSTOS_SIM_SNP_DIR", "/tmp/sim", 1);
	cs_kbs_config_init(&c);
	c.dev = true;
	c.data_dir = strdup("/d");
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	sim = false;
	for (size_t i = 0; i < c.ntees; i++)
		sim = sim || strcmp(c.tees[i], "sim-snp") == 0;
	for (size_t i = 0; i < c.nverifiers; i++)
		if (strcmp(c.verifiers[i].tee, "sim-snp") == 0)
			CHECK_STR(c.verifiers[i].roots, "/tmp/sim");
	CHECK(sim);
	cs_kbs_config_fini(&c);
	unsetenv("CUSTOS_SIM_SNP_DIR");
}

/* The store's master key: from the file, never derived for PostgreSQL. */
static void
test_master_key(void)
{
	struct cs_kbs_config c;
	char why[256] = "";

	CHECK_OK(load("{\"data\":\"/d\",\"master_key\":\"/etc/custos/mk\"}", &c, why, sizeof(why)));
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	CHECK_STR(c.master_key, "/etc/custos/mk");
	CHECK_STR(c.store_url, "sqlite:///d/kbs.db");
	cs_kbs_config_fini(&c);
	/* SQLite without one: NULL, the store's default file beside the database. */
	CHECK_OK(load("{\"data\":\"/d\"}", &c, why, sizeof(why)));
	CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
	CHECK(c.master_key == NULL);
	cs_kbs_config_fini(&c);
	/* PostgreSQL without one: refused at configuration time, saying what is missing. */
	const char *pg[] = {"postgresql://kbs@db/kbs", "postgres://db/kbs"};
	for (size_t i = 0; i < 2; i++) {
		char text[256];

		snprintf(text, sizeof(text), "{\"data\":\"/d\",\"store\":\"%s\"}", pg[i]);
		CHECK_OK(load(text, &c, why, sizeof(why)));
		CHECK_ERR(cs_kbs_config_finish(&c, why, sizeof(why)), CS_ERR_CONFIG);
		CHECK(strstr(why, "master_key") != NULL);
		cs_kbs_config_fini(&c);
		snprintf(text, sizeof(text),
		         "{\"data\":\"/d\",\"store\":\"%s\",\"master_key\":\"/k\"}", pg[i]);
		CHECK_OK(load(text, &c, why, sizeof(why)));
		CHECK_OK(cs_kbs_config_finish(&c, why, sizeof(why)));
		cs_kbs_config_fini(&c);
	}
	/* Wrong type: refused with the member named. */
	CHECK(load("{\"master_key\":1}", &c, why, sizeof(why)) != CS_OK);
	CHECK(strstr(why, "master_key") != NULL);
	cs_kbs_config_fini(&c);
}

int
main(void)
{
	char path[128];

	CHECK(mkdtemp(dir) != NULL);
	T_RUN(test_defaults);
	T_RUN(test_full);
	T_RUN(test_refusals);
	T_RUN(test_dev);
	T_RUN(test_master_key);
	snprintf(path, sizeof(path), "%s/c.json", dir);
	unlink(path);
	rmdir(dir);
	return t_done();
}
