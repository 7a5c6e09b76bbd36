/* The server back end. Two FIFOs made in the input's private directory, opened and removed from disk
 * at once (the server opens them through /proc/<driver pid>/fd), the target started with the preload,
 * its first message awaited (a hello, or a notice saying why not), then one request and one result
 * per input. Everything decided here comes from those messages; the target's stderr is only quoted
 * to people. This process signals only its own unreaped children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diagnose.h"
#include "server.h"

#ifndef FORKSRV_LIBDIR
#define FORKSRV_LIBDIR "/usr/local/lib"
#endif

/* How long past its own timeout the server may take to answer before the driver calls it hung, and
 * how long a server that was told to stop may take to go. */
#define ANSWER_GRACE_MS 5000
#define STOP_GRACE_MS 2000
#define DEFAULT_STARTUP_MS 5000

static int fail(struct drv_server *s, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, DRV_ERR_MAX, fmt, ap);
  va_end(ap);
  errno = saved;
  return -1;
}

void drv_server_init(struct drv_server *s) {
  s->req = s->rep = s->pidfd = s->lib_fds[0] = s->lib_fds[1] = -1;
  s->pid = 0;
}

/* Made in the input's own directory and removed again before the target starts: the server opens
 * them through our fds. Our reader first, so the server's non-blocking open for writing finds it;
 * our request end is read-write so that it never blocks and never needs a reader yet. */
static int make_fifos(struct drv_server *s, char *req, char *rep, size_t cap) {
  static const char *const names[2] = {".forksrv-req", ".forksrv-rep"};
  for (int i = 0; i < 2; i++) {
    if (mkfifoat(s->in->dirfd, names[i], 0600) < 0) {
      fail(s, "mkfifo %s/%s: %s", s->in->dir, names[i], strerror(errno));
      unlinkat(s->in->dirfd, names[0], 0);
      return -1;
    }
  }
  s->rep = drv_fd_above_stdio(openat(s->in->dirfd, names[1], O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  int rep_errno = errno;
  s->req = drv_fd_above_stdio(openat(s->in->dirfd, names[0], O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  int req_errno = errno;
  unlinkat(s->in->dirfd, names[0], 0);
  unlinkat(s->in->dirfd, names[1], 0);
  if (s->rep < 0) return fail(s, "open %s/%s: %s", s->in->dir, names[1], strerror(rep_errno));
  if (s->req < 0) return fail(s, "open %s/%s: %s", s->in->dir, names[0], strerror(req_errno));
  snprintf(req, cap, "/proc/%d/fd/%d", (int)getpid(), s->req);
  snprintf(rep, cap, "/proc/%d/fd/%d", (int)getpid(), s->rep);
  return 0;
}

static int find_preload(struct drv_server *s, char *out) {
  if (s->cfg->preload) {
    if (!realpath(s->cfg->preload, out)) return fail(s, "preload %s: %s", s->cfg->preload, strerror(errno));
    return 0;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return fail(s, "readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  /* A build tree, an installed forksrv (bin/ and lib/), then where `make install` put it. */
  static const char *const places[] = {"%s/libforksrv.so", "%s/../lib/libforksrv.so", FORKSRV_LIBDIR "/libforksrv.so"};
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, places[i], self);
    if (access(path, R_OK) == 0 && realpath(path, out)) return 0;
  }
  return fail(s, "libforksrv.so not found beside %s nor in %s (use --preload PATH)", self, FORKSRV_LIBDIR);
}

void drv_stderr_gist(int fd, char *out, size_t cap) {
  char buf[8192];
  out[0] = '\0';
  if (fd < 0) return;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)(sizeof buf - 1) : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  if (n <= 0) return;
  buf[n] = '\0';
  char *best = NULL;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
    if (line[strspn(line, " \t\r")]) best = line;
  if (best) snprintf(out, cap, "%s", best);
}

void drv_describe_status(int status, char *out, size_t cap) {
  if (WIFEXITED(status))
    snprintf(out, cap, "exit code %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, cap, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  else
    snprintf(out, cap, "wait status 0x%x", status);
}

/* A target that ended without a message: the file's own reason (the loader never saw the preload),
 * else the last line it wrote. */
static int startup_failed(struct drv_server *s, const char *what, int status) {
  char how[64], gist[400];
  drv_describe_status(status, how, sizeof how);
  drv_stderr_gist(s->sp->stderr_capture, gist, sizeof gist);
  const char *reason = drv_no_preload_reason(s->sp->exe);
  if (reason) return fail(s, "%s (%s): %s", what, how, reason);
  if (gist[0]) return fail(s, "%s (%s): %s", what, how, gist);
  return fail(s, "%s (%s)", what, how);
}

/* Kills and reaps the server, which is our own child and still unreaped. */
static int end_server(struct drv_server *s, int grace_ms) {
  int status = 0, killed = 0;
  if (s->pid <= 0) return 0;
  struct pollfd p = {s->pidfd, POLLIN, 0};
  if (grace_ms > 0) {
    while (poll(&p, 1, grace_ms) < 0 && errno == EINTR) {}
  }
  if (grace_ms <= 0 || !(p.revents & POLLIN)) {
    kill(s->pid, SIGKILL);
    kill(-s->pid, SIGKILL);
    killed = 1;
  }
  while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
  close(s->pidfd);
  s->pid = 0;
  s->pidfd = -1;
  return killed ? -1 : status;
}

/* Why a server did not start, from its notice (enum fifo_cause), in the driver's words. */
static int not_started(struct drv_server *s, const struct fifo_notice *n) {
  const char *err = n->error ? strerror(-n->error) : "";
  switch (n->cause) {
  case FIFO_CAUSE_OPEN: return fail(s, "the server did not start: it could not open its request FIFO: %s", err);
  case FIFO_CAUSE_NOT_FIFO: return fail(s, "the server did not start: its request FIFO is not a FIFO");
  case FIFO_CAUSE_NOT_OURS:
    return fail(s, "the server did not start: its request FIFO is not owned by the target's effective uid");
  case FIFO_CAUSE_WRITABLE:
    return fail(s, "the server did not start: its request FIFO is writable by its group or others");
  case FIFO_CAUSE_NO_WRITER: return fail(s, "the server did not start: no process has its request FIFO open for writing");
  case FIFO_CAUSE_TOO_LONG: return fail(s, "the server did not start: its request FIFO's path is longer than PATH_MAX");
  case FIFO_CAUSE_SETUP:
    return fail(s, "the server did not start: its set-up failed (it needs glibc and Linux 5.3 or later): %s", err);
  default: return fail(s, "the server did not start: a call on its request FIFO failed: %s", err);
  }
}

/* The server's first message: its hello, or a notice that it may not start where it was asked to (the
 * target then ends) or cannot start at all (the target would run on: it is ended here). */
static int await_hello(struct drv_server *s) {
  const struct drv_config *cfg = s->cfg;
  unsigned limit = cfg->startup_timeout_ms ? cfg->startup_timeout_ms : DEFAULT_STARTUP_MS;
  struct pollfd p[3] = {{s->rep, POLLIN, 0}, {s->pidfd, POLLIN, 0}, {cfg->cancel_fd, POLLIN, 0}};
  long left = limit;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    int r = poll(p, cfg->cancel_fd >= 0 ? 3 : 2, (int)left);
    if (r < 0 && errno != EINTR) return fail(s, "poll: %s", strerror(errno));
    if (r > 0 && p[2].revents) {
      end_server(s, 0);
      errno = EINTR;
      return fail(s, "interrupted before the handshake");
    }
    if (r > 0 && (p[0].revents & POLLIN)) break;
    if (r > 0 && p[1].revents) {
      int status = 0;
      while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
      close(s->pidfd);
      s->pid = 0;
      s->pidfd = -1;
      s->ended_early = 1;
      s->early_status = status;
      return startup_failed(s, "target exited before the handshake", status);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    left = limit - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) {
      end_server(s, 0);
      char gist[400];
      drv_stderr_gist(s->sp->stderr_capture, gist, sizeof gist);
      const char *reason = drv_no_preload_reason(s->sp->exe);
      if (!reason && gist[0]) reason = gist;
      if (!reason && s->starting_at == FIFO_START_INPUT)
        reason = "the target is still starting, or waits for something before it touches its input";
      if (!reason) reason = "the target is still starting, or hangs before its constructors run";
      return fail(s, "no handshake within %u ms (--startup-timeout): %s", limit, reason);
    }
  }
  unsigned char buf[FIFO_HELLO_SIZE];
  ssize_t n = read(s->rep, buf, sizeof buf);
  if (n == (ssize_t)sizeof buf && fifo_decode_notice(buf, &s->notice) == 0 && s->notice.pid == s->pid) {
    s->noticed = 1;
    if (s->notice.code == FIFO_NOTICE_NOT_STARTED) {
      end_server(s, 0);
      return not_started(s, &s->notice);
    }
    int status = end_server(s, STOP_GRACE_MS);
    return startup_failed(s, "the server refused to start there", status < 0 ? SIGKILL : status);
  }
  uint32_t version = fifo_hello_version(buf, n > 0 ? (unsigned long)n : 0);
  if (version && version != FIFO_PROTOCOL_VERSION) {
    end_server(s, 0);
    return fail(s, "protocol version mismatch: the server speaks %u, this driver %u", version, FIFO_PROTOCOL_VERSION);
  }
  if (n != (ssize_t)sizeof buf || fifo_decode_hello(buf, &s->hello) < 0) {
    end_server(s, 0);
    return fail(s, "handshake: the target sent something that is not a forksrv hello (%zd bytes)", n);
  }
  if (s->hello.pid != s->pid) {
    int target = s->pid;
    end_server(s, 0);
    return fail(s, "handshake came from pid %d, not from the target (pid %d): a descendant started the server",
                s->hello.pid, target);
  }
  return 0;
}

/* The loader splits LD_PRELOAD at spaces and colons and has no way to quote them: a library whose
 * path holds one (forksrv installed under "/opt/a b") is named by /proc/<our pid>/fd/N instead,
 * which leads to the same file for as long as we run, as the FIFOs are. i: 0 the preload, 1 the
 * input hooks. */
static int loader_name(struct drv_server *s, int i, char *path, size_t cap) {
  if (!strpbrk(path, " \t\n:")) return 0;
  if (s->lib_fds[i] < 0 && (s->lib_fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return fail(s, "open %s: %s", path, strerror(errno));
  snprintf(path, cap, "/proc/%d/fd/%d", (int)getpid(), s->lib_fds[i]);
  return 0;
}

/* libforksrv_input.so, beside the preload (real, its real path), after it in LD_PRELOAD:
 * "PRELOAD:DIR/libforksrv_input.so". */
static int with_input_hooks(struct drv_server *s, const char *real, char *preload, size_t cap) {
  char hooks[PATH_MAX + 32];
  snprintf(hooks, sizeof hooks, "%s", real);
  char *slash = strrchr(hooks, '/');
  snprintf(slash ? slash : hooks, sizeof hooks - (size_t)(slash ? slash - hooks : 0), "%s", "/libforksrv_input.so");
  if (access(hooks, R_OK) < 0) return fail(s, "--start input needs %s: %s", hooks, strerror(errno));
  if (loader_name(s, 1, hooks, sizeof hooks) < 0) return -1;
  size_t used = strlen(preload);
  if (snprintf(preload + used, cap - used, ":%s", hooks) >= (int)(cap - used)) return fail(s, "preload path too long");
  return 0;
}

int drv_server_start(struct drv_server *s, uint32_t start, int bind_now) {
  s->ended_early = s->noticed = 0;
  s->starting_at = start;
  char req[64], rep[64], real[PATH_MAX], preload[2 * PATH_MAX + 32];
  if (find_preload(s, real) < 0) return -1;
  snprintf(preload, sizeof preload, "%s", real);
  if (loader_name(s, 0, preload, sizeof preload) < 0) return -1;
  if (start == FIFO_START_INPUT && with_input_hooks(s, real, preload, sizeof preload) < 0) return -1;
  /* The input has been read by nobody yet: a late start point checks that with its atime. */
  struct timespec times[2] = {{FIFO_UNREAD_ATIME, 0}, {0, UTIME_OMIT}};
  if (futimens(s->in->fd, times) < 0) return fail(s, "set the atime of %s: %s", s->in->path, strerror(errno));
  if (make_fifos(s, req, rep, sizeof req) < 0) return -1;
  if (drv_spawn_env(s->sp, req, rep, preload, start ? fifo_start_name(start) : NULL, s->in->path, !s->in->by_path,
                    bind_now, s->cfg->reset_snapshot) < 0)
    return fail(s, "environment: %s", strerror(errno));
  int err = 0;
  s->pid = drv_spawn(s->sp, &err);
  if (s->pid < 0) {
    s->pid = 0;
    return fail(s, "%s", s->sp->err);
  }
  s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
  if (s->pidfd < 0) {
    int saved = errno;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {}
    s->pid = 0;
    return fail(s, "pidfd_open: %s", strerror(saved));
  }
  return await_hello(s);
}

int drv_server_clear(struct drv_server *s) {
  if (s->req >= 0) close(s->req);
  if (s->rep >= 0) close(s->rep);
  s->req = s->rep = -1;
  if (s->sp->stderr_capture >= 0 && ftruncate(s->sp->stderr_capture, 0) < 0)
    return fail(s, "truncate stderr capture: %s", strerror(errno));
  if (s->sp->stdout_capture >= 0 && ftruncate(s->sp->stdout_capture, 0) < 0)
    return fail(s, "truncate stdout capture: %s", strerror(errno));
  return 0;
}

static int server_gone(struct drv_server *s) {
  char how[64];
  int status = end_server(s, 1000);
  if (status < 0) return fail(s, "server stopped answering; killed it");
  drv_describe_status(status, how, sizeof how);
  return fail(s, "server died (%s)", how);
}

static int send_request(struct drv_server *s, const struct fifo_request *rq) {
  unsigned char buf[FIFO_REQUEST_SIZE];
  fifo_encode_request(buf, rq);
  ssize_t n;
  while ((n = write(s->req, buf, FIFO_REQUEST_SIZE)) < 0 && errno == EINTR) {}
  return n == FIFO_REQUEST_SIZE ? 0 : fail(s, "write request: %s", strerror(errno));
}

/* One result, as fifo/protocol.h describes the exchange: duplicates of earlier ones are dropped, and
 * a request lost with a persistent child is sent again. */
static int await_result(struct drv_server *s, uint64_t deadline_us, struct fifo_result *out) {
  const struct drv_config *cfg = s->cfg;
  struct pollfd p[3] = {{s->rep, POLLIN, 0}, {s->pidfd, POLLIN, 0}, {cfg->cancel_fd, POLLIN, 0}};
  struct fifo_result notes = {0};
  for (;;) {
    int r;
    do r = poll(p, cfg->cancel_fd >= 0 ? 3 : 2, drv_captures_wait_ms(s->caps, drv_ms_until(deadline_us)));
    while (r < 0 && errno == EINTR);
    if (r > 0 && p[2].revents) {
      errno = EINTR;
      return fail(s, "interrupted");
    }
    if (r == 0 && (!deadline_us || drv_now_us() < deadline_us)) {
      drv_captures_look(s->caps);
      continue;
    }
    if (r == 0) {
      end_server(s, 0);
      return fail(s, "server gave no result within %u ms; killed it", cfg->timeout_ms + ANSWER_GRACE_MS);
    }
    if (!(p[0].revents & POLLIN)) return server_gone(s);
    unsigned char buf[FIFO_RESULT_SIZE];
    ssize_t n = read(s->rep, buf, sizeof buf);
    if (n == 0) return server_gone(s);
    /* Serial arithmetic: seqs wrap after 2^32 requests, which a fuzzer reaches in a day. */
    if (n != (ssize_t)sizeof buf || fifo_decode_result(buf, out) < 0 || out->reason == FIFO_EXEC_FAILED ||
        (int32_t)(out->seq - s->rq.seq) > 0) {
      end_server(s, 0);
      return fail(s, "malformed result from the server (%zd bytes); killed it", n);
    }
    if ((int32_t)(out->seq - s->rq.seq) < 0) continue;
    if (out->reason == FIFO_RESEND) {
      drv_result_notes(&notes, out);
      if (send_request(s, &s->rq) < 0) return -1;
      continue;
    }
    drv_result_notes(out, &notes);
    return 0; /* FIFO_RETRY too: the caller puts the input in place again (client.c) */
  }
}

void drv_result_notes(struct fifo_result *into, const struct fifo_result *from) {
  if (!into->record_failure && from->record_failure) {
    into->record_failure = from->record_failure;
    into->record_error = from->record_error;
  }
  if (!into->discard) into->discard = from->discard;
}

int drv_server_run(struct drv_server *s, struct fifo_result *out) {
  if (s->pid <= 0) return fail(s, "no server");
  s->rq = (struct fifo_request){.seq = ++s->seq, .timeout_ms = s->cfg->timeout_ms};
  if (send_request(s, &s->rq) < 0) return -1;
  /* The server enforces the timeout; this is for a hung server. */
  uint64_t deadline = s->cfg->timeout_ms ? drv_now_us() + (s->cfg->timeout_ms + ANSWER_GRACE_MS) * 1000ull : 0;
  return await_result(s, deadline, out);
}

int drv_server_stop(struct drv_server *s) {
  if (s->req >= 0) close(s->req);
  if (s->rep >= 0) close(s->rep);
  s->req = s->rep = -1;
  int status = end_server(s, STOP_GRACE_MS);
  for (int i = 0; i < 2; i++)
    if (s->lib_fds[i] >= 0) close(s->lib_fds[i]);
  s->lib_fds[0] = s->lib_fds[1] = -1;
  return status < 0 ? -1 : 0;
}
