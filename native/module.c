/*
 * enclavekit's native addon: the /dev/nsm ioctl (nsm_ioctl.c) and AF_VSOCK / AF_UNIX stream
 * sockets with their own I/O (sockets.c, stream.c). N-API only (node_api.h), so one build works
 * across Node versions with N-API 8; built by node-gyp from the repository's binding.gyp.
 */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  if (ek_init_nsm(env, exports) == NULL) return NULL;
  if (ek_init_sockets(env, exports) == NULL) return NULL;
  if (ek_init_stream(env, exports) == NULL) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
