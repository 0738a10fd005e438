/* Reference values: the store first, the configuration only for names the store lacks. */
#include "kbs/refval.h"
#include "store/store.h"

json_t *
cs_kbs_refval_get(struct cs_store *s, const json_t *static_refvals, const char *name, int64_t now)
{
	json_t *v = NULL;
	enum cs_err err = CS_ERR_NOT_FOUND;

	if (s != NULL)
		err = cs_store_refval_get(s, name, now, &v, NULL);
	if (err == CS_OK)
		return v;
	json_decref(v);
	/* Expired, unreadable or malformed: no match, and no second source either. A name the
	 * store cannot hold (CS_ERR_INVAL) can only be the configuration's. */
	if (err != CS_ERR_NOT_FOUND && err != CS_ERR_INVAL)
		return NULL;
	v = json_object_get(static_refvals, name);
	return v != NULL ? json_incref(v) : NULL;
}
