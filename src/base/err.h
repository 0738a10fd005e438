/*
 * One error type for all of custos. Every fallible function returns enum cs_err and is marked
 * CS_MUST_USE. Messages are fixed text: they never carry input bytes or secret material, so any
 * error may be logged or returned to a client as is. To add a code, add one line to CS_ERRORS.
 */
#ifndef CS_BASE_ERR_H
#define CS_BASE_ERR_H

#define CS_MUST_USE __attribute__((warn_unused_result))

/* X(name, message) */
#define CS_ERRORS(X)                                                                               \
	X(CS_OK, "success")                                                                        \
	X(CS_ERR_NOMEM, "out of memory")                                                           \
	X(CS_ERR_INVAL, "invalid argument")                                                        \
	X(CS_ERR_TRUNCATED, "input ends before the structure does")                                \
	X(CS_ERR_TRAILING, "unexpected bytes after the end of the structure")                      \
	X(CS_ERR_RESERVED, "reserved field is not zero")                                           \
	X(CS_ERR_LENGTH, "length field does not match the data")                                   \
	X(CS_ERR_TOO_LARGE, "input exceeds a size limit")                                          \
	X(CS_ERR_ENCODING, "malformed base64, base64url or hex")                                   \
	X(CS_ERR_JSON, "malformed JSON")                                                           \
	X(CS_ERR_JSON_DEPTH, "JSON nested too deeply")                                             \
	X(CS_ERR_JSON_FIELD, "JSON field missing or of the wrong type")                            \
	X(CS_ERR_JSON_NUMBER, "JSON number cannot be represented canonically")                     \
	X(CS_ERR_UTF8, "invalid UTF-8")                                                            \
	X(CS_ERR_UNSUPPORTED, "unsupported version, algorithm or format")                          \
	X(CS_ERR_ALG, "algorithm not allowed here")                                                \
	X(CS_ERR_CRYPTO, "cryptographic library failure")                                          \
	X(CS_ERR_KEY, "invalid or unusable key")                                                   \
	X(CS_ERR_SIGNATURE, "signature verification failed")                                       \
	X(CS_ERR_DECRYPT, "decryption or authentication failed")                                   \
	X(CS_ERR_CERT, "certificate chain does not verify to a pinned root")                       \
	X(CS_ERR_CERT_REVOKED, "certificate revoked")                                              \
	X(CS_ERR_EXPIRED, "expired")                                                               \
	X(CS_ERR_NOT_YET_VALID, "not yet valid")                                                   \
	X(CS_ERR_VERIFY, "evidence does not verify")                                               \
	X(CS_ERR_BINDING, "report data does not match the session binding")                        \
	X(CS_ERR_MEASUREMENT, "measurement not among the reference values")                        \
	X(CS_ERR_TCB, "TCB does not match")                                                        \
	X(CS_ERR_COLLATERAL, "collateral missing or stale")                                        \
	X(CS_ERR_CC_OFF, "confidential-computing mode is off")                                     \
	X(CS_ERR_NO_TEE, "no TEE interface found")                                                 \
	X(CS_ERR_PROTOCOL, "protocol violation")                                                   \
	X(CS_ERR_VERSION, "protocol version mismatch")                                             \
	X(CS_ERR_NONCE, "nonce does not match the session")                                        \
	X(CS_ERR_SESSION, "no valid session")                                                      \
	X(CS_ERR_TOKEN, "attestation token invalid")                                               \
	X(CS_ERR_UNAUTHENTICATED, "authentication required")                                       \
	X(CS_ERR_DENIED, "denied by policy")                                                       \
	X(CS_ERR_POLICY, "policy syntax or type error")                                            \
	X(CS_ERR_NOT_FOUND, "not found")                                                           \
	X(CS_ERR_EXISTS, "already exists")                                                         \
	X(CS_ERR_PATH, "invalid resource path")                                                    \
	X(CS_ERR_RATE_LIMIT, "rate limit exceeded")                                                \
	X(CS_ERR_IO, "input/output error")                                                         \
	X(CS_ERR_STORE, "storage backend failure")                                                 \
	X(CS_ERR_NETWORK, "network failure")                                                       \
	X(CS_ERR_TIMEOUT, "timed out")                                                             \
	X(CS_ERR_STATE, "operation not valid in this state")                                       \
	X(CS_ERR_CONFIG, "invalid configuration")                                                  \
	X(CS_ERR_WRONG_KEY, "key does not open this sealed data")                                  \
	X(CS_ERR_SEAL_HEADER, "sealed-file header fails authentication")                           \
	X(CS_ERR_MANIFEST, "sealed directory does not match its manifest")                         \
	X(CS_ERR_HWID, "endorsement key certificate is for another chip")

enum cs_err {
#define CS_ERR_ENUM_(name, msg) name,
	CS_ERRORS(CS_ERR_ENUM_)
#undef CS_ERR_ENUM_
	        CS_ERR_COUNT_
};

/* A fixed, human-readable message; never NULL. */
const char *cs_err_str(enum cs_err err);

/* The enumerator's name, e.g. "CS_ERR_TRUNCATED"; never NULL. */
const char *cs_err_name(enum cs_err err);

/* Propagate an error from a function that owns nothing. */
#define TRY(expr)                                                                                  \
	do {                                                                                       \
		enum cs_err try_err_ = (expr);                                                     \
		if (try_err_ != CS_OK)                                                             \
			return try_err_;                                                           \
	} while (0)

/* Fail with err unless cond holds, in a function that owns nothing. */
#define ENSURE(cond, err)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return (err);                                                              \
	} while (0)

#endif
