#include "common.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

void ek_throw_last_status(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char message[256];
  snprintf(message, sizeof message, "enclavekit addon: %s failed (%s)", what,
           info != NULL && info->error_message != NULL ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "ERR_ADDON", message);
}

const char *ek_errno_name(int err) {
  return uv_err_name(-err);
}

napi_value ek_errno_error(napi_env env, int err, const char *syscall) {
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s", syscall, ek_errno_name(err), strerror(err));
  napi_value msg, code, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, ek_errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return NULL;
  napi_set_named_property(env, error, "code", code);
  if (napi_create_int32(env, err, &errno_value) == napi_ok) napi_set_named_property(env, error, "errno", errno_value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok) {
    napi_set_named_property(env, error, "syscall", syscall_value);
  }
  return error;
}

napi_value ek_throw_errno(napi_env env, int err, const char *syscall) {
  napi_value error = ek_errno_error(env, err, syscall);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

bool ek_arg_int32(napi_env env, napi_value value, const char *name, int32_t *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  double d;
  napi_get_value_double(env, value, &d);
  if (d != (double)(int32_t)d) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a 32-bit integer", name);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  *out = (int32_t)d;
  return true;
}

bool ek_arg_uint32(napi_env env, napi_value value, const char *name, uint32_t *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  double d;
  napi_get_value_double(env, value, &d);
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an unsigned 32-bit integer", name);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

bool ek_arg_string(napi_env env, napi_value value, const char *name, char *buf, size_t size, size_t *len) {
  napi_valuetype type;
  char message[96];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    snprintf(message, sizeof message, "%s must be a string", name);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  size_t full = 0;
  napi_get_value_string_utf8(env, value, NULL, 0, &full);
  if (full + 1 > size) {
    snprintf(message, sizeof message, "%s is too long (%zu bytes, at most %zu)", name, full, size - 1);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  napi_get_value_string_utf8(env, value, buf, size, len);
  if (strlen(buf) != *len) {
    snprintf(message, sizeof message, "%s must not contain NUL", name);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  return true;
}
