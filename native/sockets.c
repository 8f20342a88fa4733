/*
 * Creating stream sockets that Node cannot create itself: AF_VSOCK (vsock(7)), and AF_UNIX through
 * the same code so tests exercise this path without a vsock peer. Every socket is non-blocking and
 * close-on-exec; connect() returns at once (EINPROGRESS) and completion is observed by the
 * NativeSocket poll handle (stream.c), so nothing here blocks the event loop.
 *
 *   vsockConnect(cid, port) -> fd         unixConnect(path) -> fd
 *   vsockListen(cid, port, backlog) -> [fd, boundCid, boundPort]
 *   unixListen(path, backlog) -> fd
 *   socketPeerName(fd) / socketName(fd) -> { family: 'vsock', cid, port } | { family: 'unix', path }
 *   closeFd(fd)
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/vm_sockets.h>
#endif

/* socket() with SOCK_NONBLOCK | SOCK_CLOEXEC, or the fcntl equivalent where those flags are absent. */
static int ek_socket(int family) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
#endif
}

static napi_value fd_value(napi_env env, int fd) {
  napi_value value;
  if (napi_create_int32(env, fd, &value) != napi_ok) {
    close(fd);
    ek_throw_last_status(env, "napi_create_int32");
    return NULL;
  }
  return value;
}

/* connect() that accepts "in progress" as success; closes the socket and throws otherwise. */
static napi_value connect_or_throw(napi_env env, int fd, const struct sockaddr *addr, socklen_t len) {
  int rc;
  do {
    rc = connect(fd, addr, len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return ek_throw_errno(env, err, "connect");
  }
  return fd_value(env, fd);
}

static napi_value bind_listen_or_throw(napi_env env, int fd, const struct sockaddr *addr, socklen_t len, int32_t backlog) {
  if (bind(fd, addr, len) < 0) {
    int err = errno;
    close(fd);
    return ek_throw_errno(env, err, "bind");
  }
  if (listen(fd, backlog) < 0) {
    int err = errno;
    close(fd);
    return ek_throw_errno(env, err, "listen");
  }
  return fd_value(env, fd);
}

static bool unix_address(napi_env env, napi_value arg, struct sockaddr_un *addr, socklen_t *len) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t path_len = 0;
  if (!ek_arg_string(env, arg, "path", addr->sun_path, sizeof addr->sun_path, &path_len)) return false;
  if (path_len == 0) {
    napi_throw_range_error(env, NULL, "path must not be empty");
    return false;
  }
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  return true;
}

static napi_value unix_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "unixConnect(path)");
    return NULL;
  }
  struct sockaddr_un addr;
  socklen_t len;
  if (!unix_address(env, argv[0], &addr, &len)) return NULL;
  int fd = ek_socket(AF_UNIX);
  if (fd < 0) return ek_throw_errno(env, errno, "socket");
  return connect_or_throw(env, fd, (struct sockaddr *)&addr, len);
}

static napi_value unix_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "unixListen(path, backlog)");
    return NULL;
  }
  struct sockaddr_un addr;
  socklen_t len;
  int32_t backlog;
  if (!unix_address(env, argv[0], &addr, &len) || !ek_arg_int32(env, argv[1], "backlog", &backlog)) return NULL;
  int fd = ek_socket(AF_UNIX);
  if (fd < 0) return ek_throw_errno(env, errno, "socket");
  return bind_listen_or_throw(env, fd, (struct sockaddr *)&addr, len, backlog);
}

#ifdef __linux__
static bool vsock_address(napi_env env, napi_value cid_arg, napi_value port_arg, struct sockaddr_vm *addr) {
  uint32_t cid, port;
  if (!ek_arg_uint32(env, cid_arg, "cid", &cid) || !ek_arg_uint32(env, port_arg, "port", &port)) return false;
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
  return true;
}
#endif

static napi_value vsock_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "vsockConnect(cid, port)");
    return NULL;
  }
#ifdef __linux__
  struct sockaddr_vm addr;
  if (!vsock_address(env, argv[0], argv[1], &addr)) return NULL;
  int fd = ek_socket(AF_VSOCK);
  if (fd < 0) return ek_throw_errno(env, errno, "socket");
  return connect_or_throw(env, fd, (struct sockaddr *)&addr, sizeof addr);
#else
  return ek_throw_errno(env, EAFNOSUPPORT, "socket");
#endif
}

static napi_value vsock_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "vsockListen(cid, port, backlog)");
    return NULL;
  }
#ifdef __linux__
  struct sockaddr_vm addr;
  int32_t backlog;
  if (!vsock_address(env, argv[0], argv[1], &addr) || !ek_arg_int32(env, argv[2], "backlog", &backlog)) return NULL;
  int fd = ek_socket(AF_VSOCK);
  if (fd < 0) return ek_throw_errno(env, errno, "socket");
  napi_value fd_js = bind_listen_or_throw(env, fd, (struct sockaddr *)&addr, sizeof addr, backlog);
  if (fd_js == NULL) return NULL;
  /* With VMADDR_PORT_ANY the kernel picks the port: report the one bound. */
  struct sockaddr_vm bound;
  socklen_t bound_len = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) {
    int err = errno;
    close(fd);
    return ek_throw_errno(env, err, "getsockname");
  }
  napi_value result, cid_js, port_js;
  EK_CALL(env, napi_create_array_with_length(env, 3, &result));
  EK_CALL(env, napi_create_uint32(env, bound.svm_cid, &cid_js));
  EK_CALL(env, napi_create_uint32(env, bound.svm_port, &port_js));
  EK_CALL(env, napi_set_element(env, result, 0, fd_js));
  EK_CALL(env, napi_set_element(env, result, 1, cid_js));
  EK_CALL(env, napi_set_element(env, result, 2, port_js));
  return result;
#else
  return ek_throw_errno(env, EAFNOSUPPORT, "socket");
#endif
}

static napi_value address_object(napi_env env, const struct sockaddr_storage *ss, socklen_t len) {
  napi_value result, value;
  EK_CALL(env, napi_create_object(env, &result));
  if (ss->ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    size_t max = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    size_t path_len = strnlen(un->sun_path, max);
    EK_CALL(env, napi_create_string_utf8(env, "unix", NAPI_AUTO_LENGTH, &value));
    EK_CALL(env, napi_set_named_property(env, result, "family", value));
    EK_CALL(env, napi_create_string_utf8(env, un->sun_path, path_len, &value));
    EK_CALL(env, napi_set_named_property(env, result, "path", value));
#ifdef __linux__
  } else if (ss->ss_family == AF_VSOCK) {
    const struct sockaddr_vm *vm = (const struct sockaddr_vm *)ss;
    EK_CALL(env, napi_create_string_utf8(env, "vsock", NAPI_AUTO_LENGTH, &value));
    EK_CALL(env, napi_set_named_property(env, result, "family", value));
    EK_CALL(env, napi_create_uint32(env, vm->svm_cid, &value));
    EK_CALL(env, napi_set_named_property(env, result, "cid", value));
    EK_CALL(env, napi_create_uint32(env, vm->svm_port, &value));
    EK_CALL(env, napi_set_named_property(env, result, "port", value));
#endif
  } else {
    EK_CALL(env, napi_create_string_utf8(env, "other", NAPI_AUTO_LENGTH, &value));
    EK_CALL(env, napi_set_named_property(env, result, "family", value));
  }
  return result;
}

static napi_value socket_name_impl(napi_env env, napi_callback_info info, bool peer) {
  size_t argc = 1;
  napi_value argv[1];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !ek_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc < 0) return ek_throw_errno(env, errno, peer ? "getpeername" : "getsockname");
  return address_object(env, &ss, len);
}

static napi_value socket_peer_name(napi_env env, napi_callback_info info) {
  return socket_name_impl(env, info, true);
}

static napi_value socket_name(napi_env env, napi_callback_info info) {
  return socket_name_impl(env, info, false);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !ek_arg_int32(env, argv[0], "fd", &fd)) return NULL;
  /* Linux closes the descriptor even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return ek_throw_errno(env, errno, "close");
  return NULL;
}

static bool set_uint32(napi_env env, napi_value exports, const char *name, uint32_t v) {
  napi_value value;
  return napi_create_uint32(env, v, &value) == napi_ok && napi_set_named_property(env, exports, name, value) == napi_ok;
}

napi_value ek_init_sockets(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"unixConnect", NULL, unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixListen", NULL, unix_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockConnect", NULL, vsock_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockListen", NULL, vsock_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketPeerName", NULL, socket_peer_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketName", NULL, socket_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  EK_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
#ifdef __linux__
  /* include/uapi/linux/vm_sockets.h */
  if (!set_uint32(env, exports, "VMADDR_CID_ANY", VMADDR_CID_ANY) ||
      !set_uint32(env, exports, "VMADDR_CID_HYPERVISOR", VMADDR_CID_HYPERVISOR) ||
      !set_uint32(env, exports, "VMADDR_CID_LOCAL", 1) ||
      !set_uint32(env, exports, "VMADDR_CID_HOST", VMADDR_CID_HOST) ||
      !set_uint32(env, exports, "VMADDR_PORT_ANY", VMADDR_PORT_ANY) ||
      !set_uint32(env, exports, "VSOCK_SUPPORTED", 1)) {
    ek_throw_last_status(env, "export vsock constants");
    return NULL;
  }
#else
  if (!set_uint32(env, exports, "VSOCK_SUPPORTED", 0)) return NULL;
#endif
  return exports;
}
