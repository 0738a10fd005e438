/* Admin authentication and role-based authorization (see admin.h). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "kbs/admin.h"

#define ADMIN_KEY_FILE_MAX 16384

enum cs_err
cs_admin_init(struct cs_kbs_admin *a, const struct cs_kbs_config *cfg)
{
	uint8_t buf[ADMIN_KEY_FILE_MAX];
	enum cs_err err;
	size_t n;
	FILE *f;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	if (cfg->admin_key == NULL)
		return CS_OK;
	f = fopen(cfg->admin_key, "rb");
	ENSURE(f != NULL, CS_ERR_IO);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ENSURE(n > 0 && n < sizeof(buf), CS_ERR_CONFIG);
	TRY(cs_key_from_pem(buf, n, &a->key));
	switch (cs_key_type(a->key)) {
	case CS_KEY_EC_P256:
		a->allow = CS_JWS_ES256;
		err = CS_OK;
		break;
	case CS_KEY_ED25519:
		a->allow = CS_JWS_EDDSA;
		err = CS_OK;
		break;
	default:
		err = CS_ERR_KEY;
		break;
	}
	if (err != CS_OK)
		cs_admin_fini(a);
	return err;
}

void
cs_admin_fini(struct cs_kbs_admin *a)
{
	cs_key_free(a->key);
	memset(a, 0, sizeof(*a));
}

/* Whether role may call "<method> <path>". */
static bool
role_allows(const struct cs_kbs_config *cfg, const char *role, const char *method, const char *path)
{
	if (cfg->nroles == 0)
		return strcmp(role, "admin") == 0;
	for (size_t i = 0; i < cfg->nroles; i++) {
		if (strcmp(cfg->roles[i].name, role) != 0)
			continue;
		for (size_t j = 0; j < cfg->roles[i].n; j++) {
			const char *ep = cfg->roles[i].endpoints[j], *sp = strchr(ep, ' ');
			char m[16];
			size_t ml = (size_t)(sp - ep);

			if (ml == 0 || ml >= sizeof(m))
				continue;
			memcpy(m, ep, ml);
			m[ml] = '\0';
			if ((strcmp(m, "*") == 0 || strcmp(m, method) == 0) &&
			    fnmatch(sp + 1, path, 0) == 0)
				return true;
		}
	}
	return false;
}

enum cs_err
cs_admin_check(const struct cs_kbs_admin *a, const char *authz, const char *method,
               const char *path, bool loopback, int64_t now, char *role, size_t role_len)
{
	enum cs_err err = CS_ERR_UNAUTHENTICATED; /* default deny */
	const char *tok, *r;
	json_t *claims = NULL;

	if (role_len > 0)
		role[0] = '\0';
	if (a->cfg->dev)
		return loopback ? CS_OK : CS_ERR_DENIED;
	if (a->cfg->insecure_admin)
		return CS_OK;
	if (a->key == NULL || authz == NULL || strncmp(authz, "Bearer ", 7) != 0)
		return CS_ERR_UNAUTHENTICATED;
	tok = authz + 7;
	if (strlen(tok) > CS_ADMIN_TOKEN_MAX)
		return CS_ERR_UNAUTHENTICATED;
	if (cs_jwt_verify(tok, strlen(tok), CS_ADMIN_TOKEN_MAX, a->allow, a->key, now, 0,
	                  CS_JWT_REQUIRE_EXP, &claims, NULL) != CS_OK)
		goto out;
	r = json_string_value(json_object_get(claims, "role"));
	if (r == NULL)
		goto out;
	if (role_len > 0)
		snprintf(role, role_len, "%s", r);
	err = CS_ERR_DENIED;
	if (!role_allows(a->cfg, r, method, path))
		goto out;
	err = CS_OK; /* the only line that grants admin access */
out:
	json_decref(claims);
	return err;
}
