#include <math.h>

#include "base/json.h"
#include "t.h"

/* Canonicalizes text and compares with want; want NULL means the parse must fail with err. */
static void
jcs_case(const char *in, const char *want, enum cs_err err)
{
	json_t *v = NULL;
	struct cs_buf b;
	enum cs_err got;

	cs_buf_init(&b, 1 << 20);
	got = cs_json_parse((const uint8_t *)in, strlen(in), 1 << 20, &v);
	if (got == CS_OK)
		got = cs_jcs(&b, v);
	CHECK_ERR(got, err);
	if (want != NULL && got == CS_OK)
		CHECK_STR((const char *)b.p, want);
	json_decref(v);
	cs_buf_fini(&b);
}

/* RFC 8785 §3.2.2 and §3.2.3 examples. */
static void
test_rfc8785_examples(void)
{
	jcs_case("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
	         "0.000000000000000000000000001],\n"
	         "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	         "  \"literals\": [null, true, false]\n}",
	         "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
	         "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}",
	         CS_OK);
	jcs_case(
	        "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew "
	        "Letter Dalet With Dagesh\", \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji: Grinning "
	        "Face\", \"\\u0080\": \"Control\", \"\\u00f6\": \"Latin Small Letter O With "
	        "Diaeresis\"}",
	        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":"
	        "\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
	        "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter "
	        "Dalet With Dagesh\"}",
	        CS_OK);
}

static void
num_case(uint64_t bits, const char *want)
{
	double d;
	json_t *v;
	struct cs_buf b;

	memcpy(&d, &bits, sizeof(d));
	v = json_real(d);
	cs_buf_init(&b, 1024);
	if (want == NULL) {
		/* jansson refuses to build NaN/Inf reals, so test the serializer path directly. */
		CHECK(v == NULL || cs_jcs(&b, v) == CS_ERR_JSON_NUMBER);
	} else {
		CHECK(v != NULL);
		CHECK_OK(cs_jcs(&b, v));
		CHECK_STR((const char *)b.p, want);
	}
	json_decref(v);
	cs_buf_fini(&b);
}

/* RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text. */
static void
test_rfc8785_numbers(void)
{
	num_case(0x0000000000000000ull, "0");
	num_case(0x8000000000000000ull, "0");
	num_case(0x0000000000000001ull, "5e-324");
	num_case(0x8000000000000001ull, "-5e-324");
	num_case(0x7fefffffffffffffull, "1.7976931348623157e+308");
	num_case(0xffefffffffffffffull, "-1.7976931348623157e+308");
	num_case(0x4340000000000000ull, "9007199254740992");
	num_case(0xc340000000000000ull, "-9007199254740992");
	num_case(0x4430000000000000ull, "295147905179352830000");
	num_case(0x7fffffffffffffffull, NULL);
	num_case(0x7ff0000000000000ull, NULL);
	num_case(0x44b52d02c7e14af5ull, "9.999999999999997e+22");
	num_case(0x44b52d02c7e14af6ull, "1e+23");
	num_case(0x44b52d02c7e14af7ull, "1.0000000000000001e+23");
	num_case(0x444b1ae4d6e2ef4eull, "999999999999999700000");
	num_case(0x444b1ae4d6e2ef4full, "999999999999999900000");
	num_case(0x444b1ae4d6e2ef50ull, "1e+21");
	num_case(0x3eb0c6f7a0b5ed8cull, "9.999999999999997e-7");
	num_case(0x3eb0c6f7a0b5ed8dull, "0.000001");
	num_case(0x41b3de4355555553ull, "333333333.3333332");
	num_case(0x41b3de4355555554ull, "333333333.33333325");
	num_case(0x41b3de4355555555ull, "333333333.3333333");
	num_case(0x41b3de4355555556ull, "333333333.3333334");
	num_case(0x41b3de4355555557ull, "333333333.33333343");
	num_case(0xbecbf647612f3696ull, "-0.0000033333333333333333");
	num_case(0x43143ff3c1cb0959ull, "1424953923781206.2");
}

static void
test_tricky(void)
{
	/* Integers beyond 2^53 serialize as the double they round to, as in ECMAScript. */
	jcs_case("[9007199254740993, -0, 0.0, 1.0, 100, 1e21, 1e20, 123e-9, 1e-7, 1E+2]",
	         "[9007199254740992,0,0,1,100,1e+21,100000000000000000000,1.23e-7,1e-7,100]",
	         CS_OK);
	/* Integers up to 2^53 in magnitude take the direct path: the same digits. */
	jcs_case("[9007199254740992, -9007199254740992, 9007199254740991, -1, 1764474000]",
	         "[9007199254740992,-9007199254740992,9007199254740991,-1,1764474000]", CS_OK);
	jcs_case("[-9007199254740993, 10000000000000000000000]", "[-9007199254740992,1e+22]",
	         CS_OK);
	/* Escapes: only C0, quote and backslash; DEL, U+2028, '/' and non-ASCII stay raw. */
	jcs_case("\"\\u0000x\"", NULL, CS_ERR_JSON);
	jcs_case("\"\\u0001\\u001f\\b\\t\\n\\f\\r\\u007f\\u2028\\/\"",
	         "\"\\u0001\\u001f\\b\\t\\n\\f\\r\x7f\xe2\x80\xa8/\"", CS_OK);
	/* Nested objects are sorted at every level; arrays keep their order. */
	jcs_case("{\"b\":{\"z\":1,\"a\":[3,1,{\"y\":true,\"x\":null}]},\"a\":\"\"}",
	         "{\"a\":\"\",\"b\":{\"a\":[3,1,{\"x\":null,\"y\":true}],\"z\":1}}", CS_OK);
	/* Keys that differ only in length, and the empty key. */
	jcs_case("{\"ab\":1,\"a\":2,\"\":3}", "{\"\":3,\"a\":2,\"ab\":1}", CS_OK);
	/* Trustee's report-data input: the EC JWK serializes as alg, crv, kty, x, y. */
	jcs_case("{\"tee-pubkey\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
	         "\"x\":\"X\",\"y\":\"Y\"},\"nonce\":\"N\",\"additional-evidence\":\"\"}",
	         "{\"additional-evidence\":\"\",\"nonce\":\"N\",\"tee-pubkey\":{\"alg\":\"ECDH-ES+"
	         "A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"X\",\"y\":\"Y\"}}",
	         CS_OK);
	jcs_case("[]", "[]", CS_OK);
	jcs_case("{}", "{}", CS_OK);
	jcs_case("\"\"", "\"\"", CS_OK);
}

static void
test_parse_limits(void)
{
	char deep[200];
	json_t *v = NULL;

	jcs_case("{\"a\":1,\"a\":2}", NULL, CS_ERR_JSON);
	jcs_case("{\"a\":1} x", NULL, CS_ERR_JSON);
	jcs_case("{\"a\":1", NULL, CS_ERR_JSON);
	jcs_case("", NULL, CS_ERR_JSON);
	jcs_case("\"\xff\"", NULL, CS_ERR_UTF8);
	jcs_case("\"\xc0\xaf\"", NULL, CS_ERR_UTF8);
	jcs_case("[NaN]", NULL, CS_ERR_JSON);
	/* Beyond int64: read as doubles, printed as ECMAScript does, and readable again. */
	jcs_case("[99999999999999999999999, 1]", "[1e+23,1]", CS_OK);
	jcs_case("[1E20, 9223372036854775807]", "[100000000000000000000,9223372036854776000]",
	         CS_OK);
	jcs_case("[100000000000000000000,9223372036854776000]",
	         "[100000000000000000000,9223372036854776000]", CS_OK);
	jcs_case("[1e400]", NULL, CS_ERR_JSON);

	/* Depth: exactly the limit passes, one more fails before parsing. */
	for (int d = CS_JSON_MAX_DEPTH; d <= CS_JSON_MAX_DEPTH + 1; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		deep[2 * d] = 0;
		jcs_case(deep, NULL, d == CS_JSON_MAX_DEPTH ? CS_OK : CS_ERR_JSON_DEPTH);
	}
	/* Brackets inside strings do not count. */
	memset(deep, '[', 100);
	deep[0] = '"';
	deep[99] = '"';
	deep[100] = 0;
	jcs_case(deep, NULL, CS_OK);

	/* Size limit: max passes, max + 1 fails. */
	CHECK_OK(cs_json_parse((const uint8_t *)"[1]", 3, 3, &v));
	json_decref(v);
	CHECK_ERR(cs_json_parse((const uint8_t *)"[1]", 3, 2, &v), CS_ERR_TOO_LARGE);
	CHECK(v == NULL);
	/* An embedded NUL byte is refused. */
	CHECK_ERR(cs_json_parse((const uint8_t *)"[1]\0", 4, 10, &v), CS_ERR_JSON);
}

static void
test_accessors(void)
{
	const char *in = "{\"s\":\"abc\",\"i\":-5,\"b\":true,\"o\":{},\"a\":[],\"u\":\"AQID\","
	                 "\"bad\":\"AQID=\"}";
	json_t *v = NULL, *x;
	const char *s;
	size_t n;
	int64_t i;
	int b;
	struct cs_buf buf;

	CHECK_OK(cs_json_parse((const uint8_t *)in, strlen(in), 4096, &v));
	CHECK_OK(cs_json_get_str(v, "s", &s, &n));
	CHECK(n == 3 && strcmp(s, "abc") == 0);
	CHECK_ERR(cs_json_get_str(v, "i", &s, &n), CS_ERR_JSON_FIELD);
	CHECK_ERR(cs_json_get_str(v, "missing", &s, &n), CS_ERR_JSON_FIELD);
	CHECK_OK(cs_json_get_int(v, "i", &i));
	CHECK(i == -5);
	CHECK_ERR(cs_json_get_int(v, "s", &i), CS_ERR_JSON_FIELD);
	CHECK_OK(cs_json_get_bool(v, "b", &b));
	CHECK(b == 1);
	CHECK_OK(cs_json_get_obj(v, "o", &x));
	CHECK_ERR(cs_json_get_obj(v, "a", &x), CS_ERR_JSON_FIELD);
	CHECK_OK(cs_json_get_arr(v, "a", &x));
	cs_buf_init(&buf, 256);
	CHECK_OK(cs_json_get_b64url(v, "u", &buf));
	CHECK(buf.len == 3 && buf.p[0] == 1 && buf.p[2] == 3);
	CHECK_ERR(cs_json_get_b64url(v, "bad", &buf), CS_ERR_ENCODING);
	CHECK(buf.len == 3);
	cs_buf_reset(&buf);
	CHECK_OK(cs_json_dump(&buf, v));
	CHECK_STR((const char *)buf.p, in);
	cs_buf_fini(&buf);

	/* A string built in memory with a NUL inside is refused by the accessor. */
	json_object_set_new(v, "nul", json_stringn("a\0b", 3));
	CHECK_ERR(cs_json_get_str(v, "nul", &s, &n), CS_ERR_JSON_FIELD);
	json_decref(v);
}

int
main(void)
{
	T_RUN(test_rfc8785_examples);
	T_RUN(test_rfc8785_numbers);
	T_RUN(test_tricky);
	T_RUN(test_parse_limits);
	T_RUN(test_accessors);
	return t_done();
}
