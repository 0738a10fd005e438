/*
 * Target: what custos-kbs parses from a request before trusting it: the resource path grammar,
 * the session cookie (base64url, framing, AEAD) and the sealed plaintext layout. Invariants:
 * nothing crashes; a path that passes has exactly three non-empty segments of the allowed bytes
 * with no leading '.'; a plaintext that parses seals and reopens to the same session.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "kbs/path.h"
#include "kbs/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[CS_SESSION_KEY_LEN] = {7};

static void
check_path(const char *p, size_t n)
{
	size_t segs = 1;

	if (cs_kbs_resource_path_check(p, n) != CS_OK)
		return;
	if (p[0] == '.' || p[0] == '/' || p[n - 1] == '/')
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '/') {
			segs++;
			if (p[i + 1] == '/' || p[i + 1] == '.')
				abort();
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		             (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
			abort();
		}
	}
	if (segs != 3)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_session s = {0}, o = {0};
	struct cs_buf c;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_path((const char *)data + 1, size - 1);
		break;
	case 1:
		if (cs_session_open(key, (const char *)data + 1, size - 1, 0, &o) == CS_OK)
			abort(); /* nobody can forge a tag for this key by chance */
		cs_session_fini(&o);
		break;
	default:
		/* INT64_MIN is the one expiry no clock value lies before. */
		if (cs_session_parse(data + 1, size - 1, &s) == CS_OK && s.expires != INT64_MIN) {
			cs_buf_init(&c, CS_SESSION_COOKIE_MAX);
			if (cs_session_seal(key, &s, &c) != CS_OK ||
			    cs_session_open(key, (const char *)c.p, c.len, INT64_MIN, &o) !=
			            CS_OK ||
			    o.state != s.state || strcmp(o.tee, s.tee) != 0 ||
			    memcmp(o.nonce, s.nonce, sizeof(s.nonce)) != 0 ||
			    o.expires != s.expires || o.token_len != s.token_len)
				abort();
			cs_buf_fini(&c);
			cs_session_fini(&o);
		}
		cs_session_fini(&s);
		break;
	}
	return 0;
}
