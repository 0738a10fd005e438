/*
 * Reference values: Trustee RVPS registration messages (version, type, base64 payload), the
 * custos expiration extension, replacement, and the rule that expired values never match.
 */
#include <stdio.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "policy/rv.h"
#include "t.h"

#define NOW 1700000000

/* A registration message whose payload is the base64 of payload_json; owned by b. */
static const char *
message(struct cs_buf *b, const char *version, const char *type, const char *payload_json,
        const char *extra)
{
	struct cs_buf p64;

	cs_buf_init(&p64, 1 << 20);
	cs_buf_reset(b);
	if (cs_b64_encode(&p64, (const uint8_t *)payload_json, strlen(payload_json)) != CS_OK ||
	    cs_buf_printf(b, "{\"version\":\"%s\",\"type\":\"%s\",\"payload\":\"%s\"%s}", version,
	                  type, (const char *)p64.p, extra) != CS_OK)
		fprintf(stderr, "cannot build the message\n");
	cs_buf_fini(&p64);
	return (const char *)b->p;
}

static enum cs_err
parse(const char *msg, struct cs_rv_set *set)
{
	return cs_rv_parse_message((const uint8_t *)msg, strlen(msg), NOW, set);
}

static size_t
count(const struct cs_rv_set *set, const char *name, int64_t at)
{
	struct cs_rv_source src = cs_rv_set_source(set, at);
	json_t *v = src.lookup(src.ctx, name, strlen(name), src.now);
	size_t n = json_array_size(v);

	json_decref(v);
	return v == NULL ? (size_t)-1 : n;
}

static void
test_sample_message(void)
{
	struct cs_rv_set set;
	struct cs_buf b;
	const struct cs_rv *r;

	cs_rv_set_init(&set);
	cs_buf_init(&b, 1 << 20);
	CHECK_OK(parse(message(&b, "0.1.0", "sample",
	                       "{\"svn\":[\"1\",\"2\"],\"launch_digest\":[\"abcd\"]}", ""),
	               &set));
	CHECK(set.n == 2);
	CHECK(count(&set, "svn", NOW) == 2);
	CHECK(count(&set, "launch_digest", NOW) == 1);
	CHECK(count(&set, "nothing", NOW) == (size_t)-1);
	r = cs_rv_set_get(&set, "svn", 3);
	CHECK(r != NULL && r->expires == NOW + CS_RV_DEFAULT_TTL);
	/* Expired values never match, from the expiry second on. */
	CHECK(count(&set, "svn", NOW + CS_RV_DEFAULT_TTL - 1) == 2);
	CHECK(count(&set, "svn", NOW + CS_RV_DEFAULT_TTL) == (size_t)-1);
	/* Registering a name again replaces its values. */
	CHECK_OK(parse(message(&b, "0.1.0", "sample", "{\"svn\":[\"3\"]}", ""), &set));
	CHECK(set.n == 2);
	CHECK(count(&set, "svn", NOW) == 1);
	/* The custos extension: an explicit expiration for the whole message. */
	CHECK_OK(parse(message(&b, "0.1.0", "sample", "{\"m\":[\"aa\"]}",
	                       ",\"expiration\":\"2023-11-14T22:13:30Z\""),
	               &set));
	r = cs_rv_set_get(&set, "m", 1);
	CHECK(r != NULL && r->expires == NOW + 10);
	CHECK(count(&set, "m", NOW + 9) == 1);
	CHECK(count(&set, "m", NOW + 10) == (size_t)-1);
	CHECK(cs_rv_set_get(&set, "m", 1) != NULL); /* still listed, for the admin */
	cs_buf_fini(&b);
	cs_rv_set_fini(&set);
}

static void
test_bad_messages(void)
{
	struct cs_rv_set set;
	struct cs_buf b;

	cs_rv_set_init(&set);
	cs_buf_init(&b, 1 << 20);
	CHECK_ERR(parse(message(&b, "0.2.0", "sample", "{}", ""), &set), CS_ERR_UNSUPPORTED);
	CHECK_ERR(parse(message(&b, "0.1.0", "swid", "{}", ""), &set), CS_ERR_UNSUPPORTED);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "[1]", ""), &set), CS_ERR_JSON_FIELD);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a\":\"1\"}", ""), &set), CS_ERR_INVAL);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a\":[1]}", ""), &set), CS_ERR_INVAL);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"\":[\"1\"]}", ""), &set), CS_ERR_INVAL);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a b\":[\"1\"]}", ""), &set),
	          CS_ERR_INVAL);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a\":[\"1\"]} x", ""), &set),
	          CS_ERR_JSON);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a\":[\"1\"]}", ",\"x\":1"), &set),
	          CS_ERR_JSON_FIELD);
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"a\":[\"1\"]}",
	                        ",\"expiration\":\"2020-01-01T00:00:00Z\""),
	                &set),
	          CS_ERR_EXPIRED);
	CHECK(parse(message(&b, "0.1.0", "sample", "{\"a\":[\"1\"]}", ",\"expiration\":\"soon\""),
	            &set) != CS_OK);
	CHECK_ERR(parse("{\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":\"e30\"}", &set),
	          CS_ERR_ENCODING);
	CHECK_ERR(parse("{\"version\":\"0.1.0\",\"type\":\"sample\"}", &set), CS_ERR_JSON_FIELD);
	CHECK_ERR(parse("{\"version\":1,\"type\":\"sample\",\"payload\":\"e30=\"}", &set),
	          CS_ERR_JSON_FIELD);
	CHECK_ERR(parse("not json", &set), CS_ERR_JSON);
	/* One bad entry spoils the whole message: nothing of it is registered. */
	CHECK_ERR(parse(message(&b, "0.1.0", "sample", "{\"good\":[\"1\"],\"bad\":[2]}", ""), &set),
	          CS_ERR_INVAL);
	CHECK(set.n == 0);
	CHECK_OK(parse("{\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":\"e30=\"}", &set));
	CHECK(set.n == 0);
	cs_buf_fini(&b);
	cs_rv_set_fini(&set);
}

int
main(void)
{
	T_RUN(test_sample_message);
	T_RUN(test_bad_messages);
	return t_done();
}
