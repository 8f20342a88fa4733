/*
 * NativeSocket: stream I/O on a socket fd that libuv's stream handles refuse. Node wraps fds in
 * uv_tcp/uv_pipe after uv_guess_handle(), which answers UV_UNKNOWN_HANDLE for AF_VSOCK, so
 * `new net.Socket({ fd })` throws ERR_INVALID_FD_TYPE (checked on Node 20). Instead we watch the
 * fd with a uv_poll_t on Node's own loop (napi_get_uv_event_loop) and do read/sendmsg/accept here.
 *
 * JavaScript: new NativeSocket(fd, mode, onEvent) with mode 0 = stream, 1 = listener,
 * 2 = connecting (becomes a stream once connect completes). onEvent(kind, a, b) is called with
 *   1 DATA(Buffer)  2 EOF  3 ERROR(code, errno)  4 WRITABLE  5 CONNECT(code | null)  6 ACCEPT(fd)
 * Methods: readStart(), readStop(), write(buffers[]) -> bytes written (0 = would block),
 * waitWritable(), shutdown(), close(), ref(), unref(). Backpressure lives in JavaScript
 * (shared/native/native-stream.ts): it stops reading when its buffer is full, and keeps unwritten
 * bytes until WRITABLE.
 *
 * Lifetime: the JavaScript object is held by a strong reference while the fd is open; close()
 * uv_close()s the poll handle, which takes the fd out of epoll at once, then closes the fd (libuv:
 * never close an fd under an active poll handle). The C struct is freed when both the close
 * callback and the finalizer have run.
 */
#define _GNU_SOURCE /* accept4() */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define EV_DATA 1
#define EV_EOF 2
#define EV_ERROR 3
#define EV_WRITABLE 4
#define EV_CONNECT 5
#define EV_ACCEPT 6

#define MODE_STREAM 0
#define MODE_LISTEN 1
#define MODE_CONNECT 2

/* Bytes per read(), and reads per poll callback before yielding to other handles. */
#define READ_CHUNK (64 * 1024)
#define READS_PER_CALLBACK 16
#define ACCEPTS_PER_CALLBACK 64
#define MAX_IOV 1024

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0
#endif

typedef struct ek_socket ek_socket_t;

/*
 * Per-environment state (the main thread and each worker have their own). At environment teardown
 * an async cleanup hook closes every open socket and holds the teardown until their uv_close
 * callbacks ran: otherwise a worker's loop would call on_poll_closed after Node unloaded the addon.
 */
typedef struct {
  ek_socket_t *head; /* sockets whose poll handle is not yet closed */
  napi_async_cleanup_hook_handle hook;
  bool tearing_down;
} ek_env_state_t;

struct ek_socket {
  ek_env_state_t *state;
  ek_socket_t *prev;
  ek_socket_t *next;
  napi_env env;
  napi_ref self;     /* strong while open */
  napi_ref callback; /* onEvent */
  napi_async_context async_context;
  uv_poll_t poll;
  int fd;
  int mode;
  int events; /* currently requested poll events */
  bool reading;
  bool want_write;
  bool eof;
  bool closing;      /* close() called */
  bool poll_closed;  /* uv_close callback ran (the fd was closed when close began) */
  bool finalized;    /* JavaScript object collected or environment torn down */
  char *read_buffer;
};

static void socket_free(ek_socket_t *s) {
  free(s->read_buffer);
  free(s);
}

static void unlink_socket(ek_socket_t *s) {
  ek_env_state_t *state = s->state;
  if (s->prev != NULL) s->prev->next = s->next;
  else state->head = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  s->prev = s->next = NULL;
  if (state->tearing_down && state->head == NULL && state->hook != NULL) {
    napi_async_cleanup_hook_handle hook = state->hook;
    state->hook = NULL;
    napi_remove_async_cleanup_hook(hook);
  }
}

static void on_poll_closed(uv_handle_t *handle) {
  ek_socket_t *s = handle->data;
  s->poll_closed = true;
  unlink_socket(s);
  if (s->finalized) {
    socket_free(s);
    return;
  }
  /* The object may now be collected; its finalizer frees the struct. */
  napi_async_destroy(s->env, s->async_context);
  s->async_context = NULL;
  napi_delete_reference(s->env, s->callback);
  s->callback = NULL;
  napi_delete_reference(s->env, s->self);
  s->self = NULL;
}

static void socket_begin_close(ek_socket_t *s) {
  if (s->closing) return;
  s->closing = true;
  s->reading = false;
  s->want_write = false;
  /* uv_close() stops the poll handle and drops the fd from epoll synchronously (libuv
   * uv__poll_close); only its callback is deferred. Closing the fd right after is therefore safe,
   * and callers see the port or path released as soon as close() returns. Closing it later would
   * let a socket opened meanwhile reuse the number while libuv still refers to it. */
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

static void socket_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ek_socket_t *s = data;
  if (s->poll_closed) {
    socket_free(s);
    return;
  }
  /* Only at environment teardown can an open socket be finalized (we hold a strong reference). */
  s->finalized = true;
  socket_begin_close(s);
}

static void on_poll(uv_poll_t *handle, int status, int events);

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *data) {
  ek_env_state_t *state = data;
  state->tearing_down = true;
  for (ek_socket_t *s = state->head, *next; s != NULL; s = next) {
    next = s->next;
    socket_begin_close(s);
  }
  if (state->head == NULL && state->hook != NULL) {
    state->hook = NULL;
    napi_remove_async_cleanup_hook(handle);
  }
}

static void free_env_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void update_poll(ek_socket_t *s) {
  if (s->closing) return;
  int events = 0;
  if (s->mode == MODE_CONNECT) {
    events = UV_WRITABLE;
  } else if (s->mode == MODE_LISTEN) {
    if (s->reading) events = UV_READABLE;
  } else {
    if (s->reading && !s->eof) events |= UV_READABLE;
    if (s->want_write) events |= UV_WRITABLE;
  }
  if (events == s->events) return;
  s->events = events;
  if (events == 0) uv_poll_stop(&s->poll);
  else uv_poll_start(&s->poll, events, on_poll);
}

/* Calls onEvent(kind, a, b) inside a callback scope, so microtasks and nextTicks run after it. */
static void emit(ek_socket_t *s, int kind, napi_value a, napi_value b) {
  napi_env env = s->env;
  if (s->finalized || s->callback == NULL) return;
  napi_value self, callback, argv[3];
  if (napi_get_reference_value(env, s->self, &self) != napi_ok || self == NULL) return;
  if (napi_get_reference_value(env, s->callback, &callback) != napi_ok || callback == NULL) return;
  napi_create_int32(env, kind, &argv[0]);
  napi_get_undefined(env, &argv[1]);
  napi_get_undefined(env, &argv[2]);
  if (a != NULL) argv[1] = a;
  if (b != NULL) argv[2] = b;
  napi_status status = napi_make_callback(env, s->async_context, self, callback, 3, argv, NULL);
  if (status == napi_pending_exception) {
    /* An exception in a listener: report it like any uncaught exception in an I/O callback. */
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
}

static void emit_error(ek_socket_t *s, int err) {
  napi_value code, errno_value;
  napi_create_string_utf8(s->env, ek_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_int32(s->env, err, &errno_value);
  emit(s, EV_ERROR, code, errno_value);
}

static void handle_connect(ek_socket_t *s) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  s->mode = MODE_STREAM;
  update_poll(s);
  napi_value code;
  if (err == 0) napi_get_null(s->env, &code);
  else napi_create_string_utf8(s->env, ek_errno_name(err), NAPI_AUTO_LENGTH, &code);
  emit(s, EV_CONNECT, code, NULL);
}

static void handle_accept(ek_socket_t *s) {
  for (int i = 0; i < ACCEPTS_PER_CALLBACK && s->reading && !s->closing; i++) {
#ifdef __linux__
    int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(s->fd, NULL, NULL);
    if (fd >= 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
#endif
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      /* A connection that died in the backlog is not the listener's failure. */
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      emit_error(s, err);
      return;
    }
    napi_value fd_js;
    napi_create_int32(s->env, fd, &fd_js);
    emit(s, EV_ACCEPT, fd_js, NULL);
  }
}

static void handle_read(ek_socket_t *s) {
  if (s->read_buffer == NULL) {
    s->read_buffer = malloc(READ_CHUNK);
    if (s->read_buffer == NULL) {
      emit_error(s, ENOMEM);
      return;
    }
  }
  for (int i = 0; i < READS_PER_CALLBACK && s->reading && !s->closing && !s->eof; i++) {
    ssize_t n = read(s->fd, s->read_buffer, READ_CHUNK);
    if (n > 0) {
      napi_value buffer;
      void *copy;
      napi_handle_scope scope;
      napi_open_handle_scope(s->env, &scope);
      if (napi_create_buffer_copy(s->env, (size_t)n, s->read_buffer, &copy, &buffer) == napi_ok) {
        emit(s, EV_DATA, buffer, NULL);
      } else {
        emit_error(s, ENOMEM);
      }
      napi_close_handle_scope(s->env, scope);
      continue;
    }
    if (n == 0) {
      s->eof = true;
      update_poll(s);
      emit(s, EV_EOF, NULL, NULL);
      return;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    emit_error(s, err);
    return;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  ek_socket_t *s = handle->data;
  if (s->closing) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  if (status < 0) {
    /* libuv has stopped the handle (src/unix/poll.c uv__poll_io); our cache must agree. */
    s->events = 0;
    int err = -status;
    if (status == UV_EBADF) {
      /* uv__poll_io reports every POLLERR as UV_EBADF: the socket's pending error is the real one
       * (ECONNREFUSED for a failed connect, ECONNRESET for a reset peer). */
      int pending = 0;
      socklen_t len = sizeof pending;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending, &len) == 0 && pending != 0) err = pending;
    }
    if (s->mode == MODE_CONNECT) {
      s->mode = MODE_STREAM;
      napi_value code;
      napi_create_string_utf8(s->env, ek_errno_name(err), NAPI_AUTO_LENGTH, &code);
      emit(s, EV_CONNECT, code, NULL);
    } else {
      emit_error(s, err);
    }
  } else if (s->mode == MODE_CONNECT) {
    handle_connect(s);
  } else if (s->mode == MODE_LISTEN) {
    if (events & UV_READABLE) handle_accept(s);
  } else {
    if ((events & UV_WRITABLE) && s->want_write) {
      s->want_write = false;
      update_poll(s);
      emit(s, EV_WRITABLE, NULL, NULL);
    }
    if ((events & (UV_READABLE | UV_DISCONNECT)) && s->reading && !s->closing) handle_read(s);
  }
  napi_close_handle_scope(s->env, scope);
}

/* ---- JavaScript methods ------------------------------------------------------------------- */

static ek_socket_t *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) {
    ek_throw_last_status(env, "napi_get_cb_info");
    return NULL;
  }
  ek_socket_t *s = NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, NULL, "not a NativeSocket");
    return NULL;
  }
  return s;
}

/* Methods other than close() on a closed socket are caller bugs in native-stream.ts. */
static ek_socket_t *open_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  ek_socket_t *s = unwrap_this(env, info, argc, argv);
  if (s != NULL && s->closing) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "NativeSocket is closed");
    return NULL;
  }
  return s;
}

static napi_value js_constructor(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  void *class_data = NULL;
  EK_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, &class_data));
  ek_env_state_t *state = class_data;
  if (state->tearing_down) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "the environment is shutting down");
    return NULL;
  }
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "new NativeSocket(fd, mode, onEvent)");
    return NULL;
  }
  int32_t fd, mode;
  if (!ek_arg_int32(env, argv[0], "fd", &fd) || !ek_arg_int32(env, argv[1], "mode", &mode)) return NULL;
  if (fd < 0 || mode < MODE_STREAM || mode > MODE_CONNECT) {
    napi_throw_range_error(env, NULL, "invalid fd or mode");
    return NULL;
  }
  napi_valuetype type;
  EK_CALL(env, napi_typeof(env, argv[2], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, NULL, "onEvent must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  EK_CALL(env, napi_get_uv_event_loop(env, &loop));

  ek_socket_t *s = calloc(1, sizeof *s);
  if (s == NULL) return ek_throw_errno(env, ENOMEM, "calloc");
  s->env = env;
  s->fd = fd;
  s->mode = mode;
  int rc = uv_poll_init_socket(loop, &s->poll, fd);
  if (rc < 0) {
    free(s);
    return ek_throw_errno(env, -rc, "uv_poll_init");
  }
  s->poll.data = s;
  s->state = state;
  s->next = state->head;
  if (state->head != NULL) state->head->prev = s;
  state->head = s;
  napi_value name;
  if (napi_create_reference(env, argv[2], 1, &s->callback) != napi_ok ||
      napi_create_string_utf8(env, "EnclaveKitNativeSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &s->async_context) != napi_ok ||
      napi_wrap(env, self, s, socket_finalize, NULL, NULL) != napi_ok ||
      napi_create_reference(env, self, 1, &s->self) != napi_ok) {
    /* Partial construction: the poll handle must still be closed through libuv. */
    ek_throw_last_status(env, "NativeSocket setup");
    s->finalized = true;
    s->fd = -1; /* the caller still owns the fd and closes it on this exception */
    if (s->callback != NULL) napi_delete_reference(env, s->callback);
    if (s->async_context != NULL) napi_async_destroy(env, s->async_context);
    s->callback = NULL;
    napi_remove_wrap(env, self, NULL);
    socket_begin_close(s);
    return NULL;
  }
  if (s->mode == MODE_CONNECT) update_poll(s);
  return self;
}

static napi_value js_read_start(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = open_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  s->reading = true;
  update_poll(s);
  return NULL;
}

static napi_value js_read_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = open_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  s->reading = false;
  update_poll(s);
  return NULL;
}

static napi_value js_wait_writable(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = open_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  s->want_write = true;
  update_poll(s);
  return NULL;
}

/* write(buffers: Uint8Array[]): number. One sendmsg() of as many buffers as fit; 0 if it would block. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  ek_socket_t *s = open_this(env, info, &argc, argv);
  if (s == NULL) return NULL;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "write(buffers) takes an array of Uint8Array");
    return NULL;
  }
  uint32_t count;
  EK_CALL(env, napi_get_array_length(env, argv[0], &count));
  if (count > MAX_IOV) count = MAX_IOV;
  struct iovec iov[MAX_IOV];
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    bool is_typed = false;
    EK_CALL(env, napi_get_element(env, argv[0], i, &item));
    EK_CALL(env, napi_is_typedarray(env, item, &is_typed));
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void *data = NULL;
    if (is_typed) EK_CALL(env, napi_get_typedarray_info(env, item, &type, &length, &data, NULL, NULL));
    if (!is_typed || type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "write(buffers) takes an array of Uint8Array");
      return NULL;
    }
    iov[i].iov_base = data;
    iov[i].iov_len = length;
    total += length;
  }
  napi_value result;
  if (total == 0) {
    EK_CALL(env, napi_create_int32(env, 0, &result));
    return result;
  }
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    /* MSG_NOSIGNAL: a closed peer is an EPIPE error, never a SIGPIPE. */
    n = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) n = 0;
    else return ek_throw_errno(env, errno, "write");
  }
  EK_CALL(env, napi_create_double(env, (double)n, &result));
  return result;
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = open_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  /* ENOTCONN: the peer is already gone, so there is nothing left to half-close. */
  if (shutdown(s->fd, SHUT_WR) < 0 && errno != ENOTCONN) return ek_throw_errno(env, errno, "shutdown");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = unwrap_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  socket_begin_close(s);
  return NULL;
}

static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = unwrap_this(env, info, &argc, NULL);
  if (s != NULL && !s->closing) uv_ref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value js_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = unwrap_this(env, info, &argc, NULL);
  if (s != NULL && !s->closing) uv_unref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value js_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  ek_socket_t *s = unwrap_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value result;
  EK_CALL(env, napi_create_int32(env, s->closing ? -1 : s->fd, &result));
  return result;
}

napi_value ek_init_stream(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"readStart", NULL, js_read_start, NULL, NULL, NULL, napi_default, NULL},
      {"readStop", NULL, js_read_stop, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"waitWritable", NULL, js_wait_writable, NULL, NULL, NULL, napi_default, NULL},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, js_unref, NULL, NULL, NULL, napi_default, NULL},
      {"fd", NULL, NULL, js_fd, NULL, NULL, napi_default, NULL},
  };
  ek_env_state_t *state = calloc(1, sizeof *state);
  if (state == NULL) return ek_throw_errno(env, ENOMEM, "calloc");
  if (napi_set_instance_data(env, state, free_env_state, NULL) != napi_ok) {
    free(state);
    ek_throw_last_status(env, "napi_set_instance_data");
    return NULL;
  }
  EK_CALL(env, napi_add_async_cleanup_hook(env, on_env_teardown, state, &state->hook));
  napi_value cls;
  EK_CALL(env, napi_define_class(env, "NativeSocket", NAPI_AUTO_LENGTH, js_constructor, state,
                                 sizeof methods / sizeof methods[0], methods, &cls));
  EK_CALL(env, napi_set_named_property(env, exports, "NativeSocket", cls));
  return exports;
}
