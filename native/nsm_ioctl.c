/*
 * nsmIoctl(fd, request): Promise<Buffer>: one NSM_IOCTL_RAW round trip on an open /dev/nsm.
 *
 * ABI from torvalds/linux@918e37d5:include/uapi/linux/nsm.h (docs/formats.md section 4.1): two iovecs
 * of {__u64 addr; __u64 len}; request.len <= 4096 (else -EMSGSIZE); response.len is in/out
 * (capacity in, bytes written out), capacity 12288. The real NSM may take long (virtio timeout
 * 120 s), so the ioctl runs on the libuv thread pool and the result comes back as a Promise.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/ioctl.h>
#endif

#define NSM_MAGIC 0x0A
#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000
/* We refuse to copy more than this from JavaScript; the kernel refuses above 4096 anyway. */
#define EK_NSM_REQUEST_COPY_MAX 0x10000

struct nsm_iovec {
  uint64_t addr;
  uint64_t len;
};

struct nsm_raw {
  struct nsm_iovec request;
  struct nsm_iovec response;
};

#ifdef __linux__
#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)
_Static_assert(sizeof(struct nsm_raw) == 32, "struct nsm_raw is two 16-byte iovecs");
_Static_assert(NSM_IOCTL_RAW == 0xC0200A00u, "NSM_IOCTL_RAW must be 0xC0200A00 (docs/formats.md 4.1)");
#endif

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  uint8_t *request;
  size_t request_len;
  uint8_t *response;
  size_t response_len;
  int err; /* positive errno, 0 on success */
} nsm_call_t;

static void nsm_execute(napi_env env, void *data) {
  (void)env;
  nsm_call_t *call = data;
#ifdef __linux__
  struct nsm_raw raw;
  memset(&raw, 0, sizeof raw);
  raw.request.addr = (uint64_t)(uintptr_t)call->request;
  raw.request.len = call->request_len;
  raw.response.addr = (uint64_t)(uintptr_t)call->response;
  raw.response.len = NSM_RESPONSE_MAX_SIZE;
  int rc;
  do {
    rc = ioctl(call->fd, NSM_IOCTL_RAW, &raw);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    call->err = errno;
    return;
  }
  /* The driver writes back the bytes it returned; never trust it beyond our buffer. */
  call->response_len = raw.response.len <= NSM_RESPONSE_MAX_SIZE ? (size_t)raw.response.len : NSM_RESPONSE_MAX_SIZE;
  call->err = 0;
#else
  call->err = ENOTSUP;
#endif
}

static void nsm_complete(napi_env env, napi_status status, void *data) {
  nsm_call_t *call = data;
  napi_value result = NULL;
  if (status == napi_cancelled) {
    result = ek_errno_error(env, ECANCELED, "ioctl");
    if (result != NULL) napi_reject_deferred(env, call->deferred, result);
  } else if (call->err != 0) {
    result = ek_errno_error(env, call->err, "ioctl");
    if (result != NULL) napi_reject_deferred(env, call->deferred, result);
  } else {
    void *copy = NULL;
    if (napi_create_buffer_copy(env, call->response_len, call->response, &copy, &result) == napi_ok) {
      napi_resolve_deferred(env, call->deferred, result);
    } else {
      napi_value error = ek_errno_error(env, ENOMEM, "ioctl");
      if (error != NULL) napi_reject_deferred(env, call->deferred, error);
    }
  }
  napi_delete_async_work(env, call->work);
  /* Responses hold attestation documents and random bytes: clear before freeing. */
  memset(call->response, 0, NSM_RESPONSE_MAX_SIZE);
  free(call->response);
  free(call->request);
  free(call);
}

static napi_value nsm_ioctl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "nsmIoctl(fd, request) takes two arguments");
    return NULL;
  }
  int32_t fd;
  if (!ek_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, NULL, "request must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  EK_CALL(env, napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, NULL, NULL));
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "request must be a Uint8Array");
    return NULL;
  }
  if (length > EK_NSM_REQUEST_COPY_MAX) {
    napi_throw_range_error(env, NULL, "request is far above the NSM request limit");
    return NULL;
  }

  nsm_call_t *call = calloc(1, sizeof *call);
  if (call == NULL) return ek_throw_errno(env, ENOMEM, "ioctl");
  call->fd = fd;
  call->request_len = length;
  /* Copied now: the JavaScript buffer may move or be reused while the worker runs. */
  call->request = malloc(length > 0 ? length : 1);
  call->response = calloc(1, NSM_RESPONSE_MAX_SIZE);
  if (call->request == NULL || call->response == NULL) {
    free(call->request);
    free(call->response);
    free(call);
    return ek_throw_errno(env, ENOMEM, "ioctl");
  }
  if (length > 0) memcpy(call->request, bytes, length);

  napi_value promise, name;
  if (napi_create_promise(env, &call->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "enclavekit.nsmIoctl", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, nsm_execute, nsm_complete, call, &call->work) != napi_ok ||
      napi_queue_async_work(env, call->work) != napi_ok) {
    /* Nothing was queued: nsm_complete will not run. The promise (if any) stays pending. */
    ek_throw_last_status(env, "queue NSM ioctl");
    free(call->request);
    free(call->response);
    free(call);
    return NULL;
  }
  return promise;
}

napi_value ek_init_nsm(napi_env env, napi_value exports) {
  napi_value fn, value;
  EK_CALL(env, napi_create_function(env, "nsmIoctl", NAPI_AUTO_LENGTH, nsm_ioctl, NULL, &fn));
  EK_CALL(env, napi_set_named_property(env, exports, "nsmIoctl", fn));
  EK_CALL(env, napi_create_uint32(env, NSM_REQUEST_MAX_SIZE, &value));
  EK_CALL(env, napi_set_named_property(env, exports, "NSM_REQUEST_MAX_SIZE", value));
  EK_CALL(env, napi_create_uint32(env, NSM_RESPONSE_MAX_SIZE, &value));
  EK_CALL(env, napi_set_named_property(env, exports, "NSM_RESPONSE_MAX_SIZE", value));
#ifdef __linux__
  EK_CALL(env, napi_create_uint32(env, (uint32_t)NSM_IOCTL_RAW, &value));
  EK_CALL(env, napi_set_named_property(env, exports, "NSM_IOCTL_RAW", value));
#endif
  return exports;
}
