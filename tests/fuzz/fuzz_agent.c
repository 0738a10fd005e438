/*
 * Target: what the agent parses from a KBS it does not yet trust: the challenge body, a response
 * header line (the kbs-session-id cookie), the token's claims (read unverified for its expiry),
 * an RFC 7807 error body, and the resource path grammar. The first byte picks the parser.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/cdh.h"
#include "agent/http.h"
#include "agent/rcar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cookie[CS_HTTP_COOKIE_MAX + 1], detail[64], *s, *nonce = NULL;
	struct cs_http_resp resp;
	enum cs_hash h;
	json_t *claims = NULL;
	uint32_t addr;
	uint16_t port;

	if (size < 1)
		return 0;
	data++, size--;
	switch (data[-1] % 5) {
	case 0:
		if (cs_rcar_parse_challenge(data, size, &nonce, &h) == CS_OK && nonce[0] == '\0')
			abort(); /* an empty nonce must never be accepted */
		free(nonce);
		break;
	case 1:
		if (cs_http_parse_set_cookie((const char *)data, size, cookie) == CS_OK &&
		    (cookie[0] == '\0' || strlen(cookie) > CS_HTTP_COOKIE_MAX))
			abort();
		break;
	case 2:
		if (cs_rcar_peek_claims((const char *)data, size, &claims) == CS_OK &&
		    !json_is_object(claims))
			abort();
		json_decref(claims);
		break;
	case 3:
		cs_http_resp_init(&resp, size + 1);
		if (cs_buf_append(&resp.body, data, size) == CS_OK) {
			cs_http_problem_detail(&resp, detail, sizeof(detail));
			if (strlen(detail) >= sizeof(detail))
				abort();
		}
		cs_http_resp_fini(&resp);
		break;
	default:
		/* NUL-terminated copies: both grammars take C strings. */
		if ((s = malloc(size + 1)) == NULL)
			return 0;
		memcpy(s, data, size);
		s[size] = '\0';
		if (cs_rcar_check_path(s) == CS_OK && (strstr(s, "..") == s || strstr(s, "/..")))
			abort();
		if (cs_cdh_parse_listen(s, &addr, &port) == CS_OK && strchr(s, ':') == NULL)
			abort();
		free(s);
		break;
	}
	return 0;
}
