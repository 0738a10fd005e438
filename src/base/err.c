#include "base/err.h"

static const char *const messages[] = {
#define CS_ERR_MSG_(name, msg) [name] = msg,
        CS_ERRORS(CS_ERR_MSG_)
#undef CS_ERR_MSG_
};

static const char *const names[] = {
#define CS_ERR_NAME_(name, msg) [name] = #name,
        CS_ERRORS(CS_ERR_NAME_)
#undef CS_ERR_NAME_
};

const char *
cs_err_str(enum cs_err err)
{
	if ((unsigned)err >= CS_ERR_COUNT_)
		return "unknown error";
	return messages[err];
}

const char *
cs_err_name(enum cs_err err)
{
	if ((unsigned)err >= CS_ERR_COUNT_)
		return "CS_ERR_UNKNOWN";
	return names[err];
}
