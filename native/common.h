/*
 * Shared helpers of the enclavekit addon (N-API only, C11). Errors thrown to JavaScript look like
 * Node's system errors: message "<syscall> <CODE>: <strerror>", properties `code` (the errno name),
 * `errno` (positive) and `syscall`, so the TypeScript side maps them to typed EnclaveKitErrors.
 */
#ifndef ENCLAVEKIT_COMMON_H
#define ENCLAVEKIT_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs an N-API call; on failure throws (unless an exception is already pending) and returns NULL. */
#define EK_CALL(env, call)                                                    \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      ek_throw_last_status((env), #call);                                     \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

void ek_throw_last_status(napi_env env, const char *what);

/* Builds (does not throw) a Node-style system error for a positive errno. */
napi_value ek_errno_error(napi_env env, int err, const char *syscall);

/* Throws a Node-style system error; returns NULL for `return ek_throw_errno(...)`. */
napi_value ek_throw_errno(napi_env env, int err, const char *syscall);

/* The errno's symbolic name ("EAGAIN"), via libuv's table (uv error = -errno on Unix). */
const char *ek_errno_name(int err);

/* Argument readers: return false after throwing a TypeError/RangeError. */
bool ek_arg_int32(napi_env env, napi_value value, const char *name, int32_t *out);
bool ek_arg_uint32(napi_env env, napi_value value, const char *name, uint32_t *out);
/* A UTF-8 string into `buf` (NUL-terminated); `*len` receives its length. */
bool ek_arg_string(napi_env env, napi_value value, const char *name, char *buf, size_t size, size_t *len);

/* Module parts, each registering its exports. */
napi_value ek_init_nsm(napi_env env, napi_value exports);
napi_value ek_init_sockets(napi_env env, napi_value exports);
napi_value ek_init_stream(napi_env env, napi_value exports);

#endif
