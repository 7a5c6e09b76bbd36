/* The client side of forksrv: the input file (infile.c), and two back ends over it. The server: two
 * FIFOs made in the input's private directory, opened and removed from disk at once (the server opens
 * them through /proc/<driver pid>/fd), the target started with the preload, its hello awaited, then
 * one request and one result per input. The plain one (plain.c): fork+exec per input, for no_server
 * and for drv_run_plain, with the same files on fds 0-2 and the same input path, so that the two can
 * be compared input for input. This process signals only its own unreaped children. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "capture.h"
#include "forksrv_client.h"
#include "infile.h"
#include "plain.h"
#include "spawn.h"

#ifndef FORKSRV_LIBDIR
#define FORKSRV_LIBDIR "/usr/local/lib"
#endif

/* How long past its own timeout the server may take to answer before the driver calls it hung, and
 * how long a server that was told to stop may take to go. */
#define ANSWER_GRACE_MS 5000
#define STOP_GRACE_MS 2000
#define DEFAULT_STARTUP_MS 5000

struct drv {
  struct drv_config cfg;
  struct drv_spawn sp;
  struct drv_infile in;
  int req, rep;
  int server_pid, server_pidfd;
  unsigned start_point;
  char warnings[1024];
  char note[256];     /* the server's "forksrv: note: " line (the input start's trigger) */
  int starting_at;    /* the start point being tried (enum drv_start) */
  int no_deferred;    /* start where asked even if the target calls forksrv_start() */
  int bind_fallback;  /* binding lazily: the target could not start with LD_BIND_NOW=1 */
  /* How the last start ended without a hello: the target's own end (early_status), a notice. */
  int ended_early, early_status;
  struct fifo_notice notice;
  int noticed;
  uint32_t seq;
  struct fifo_request rq;
  struct drv_plain plain;
  struct drv_captures caps;
  int lib_fds[2];     /* the preload and the input hooks, open when their paths hold a separator */
  char err[1024];
};

static int fail(struct drv *d, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->err, sizeof d->err, fmt, ap);
  va_end(ap);
  errno = saved;
  return -1;
}

/* Made in the input's own directory and removed again before the target starts: the server opens
 * them through our fds. Our reader first, so the server's non-blocking open for writing finds it;
 * our request end is read-write so that it never blocks and never needs a reader yet. */
static int make_fifos(struct drv *d, char *req, char *rep, size_t cap) {
  static const char *const names[2] = {".forksrv-req", ".forksrv-rep"};
  for (int i = 0; i < 2; i++) {
    if (mkfifoat(d->in.dirfd, names[i], 0600) < 0) {
      fail(d, "mkfifo %s/%s: %s", d->in.dir, names[i], strerror(errno));
      unlinkat(d->in.dirfd, names[0], 0);
      return -1;
    }
  }
  d->rep = drv_fd_above_stdio(openat(d->in.dirfd, names[1], O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  int rep_errno = errno;
  d->req = drv_fd_above_stdio(openat(d->in.dirfd, names[0], O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  int req_errno = errno;
  unlinkat(d->in.dirfd, names[0], 0);
  unlinkat(d->in.dirfd, names[1], 0);
  if (d->rep < 0) return fail(d, "open %s/%s: %s", d->in.dir, names[1], strerror(rep_errno));
  if (d->req < 0) return fail(d, "open %s/%s: %s", d->in.dir, names[0], strerror(req_errno));
  snprintf(req, cap, "/proc/%d/fd/%d", (int)getpid(), d->req);
  snprintf(rep, cap, "/proc/%d/fd/%d", (int)getpid(), d->rep);
  return 0;
}

static int find_preload(struct drv *d, char *out, size_t cap) {
  if (d->cfg.preload) {
    if (!realpath(d->cfg.preload, out)) return fail(d, "preload %s: %s", d->cfg.preload, strerror(errno));
    return 0;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return fail(d, "readlink /proc/self/exe: %s", strerror(errno));
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
  (void)cap;
  return fail(d, "libforksrv.so not found beside %s nor in %s (use --preload PATH)", self, FORKSRV_LIBDIR);
}

/* The last line of the target's stderr worth showing: forksrv's own reason if the server gave one,
 * else the last non-empty line (the dynamic loader's message, a sanitizer's summary). "" when the
 * target's stderr is the caller's own (--show-output): the line was seen there. */
static void stderr_gist(int fd, char *out, size_t cap) {
  char buf[8192];
  out[0] = '\0';
  if (fd < 0) return;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)(sizeof buf - 1) : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  if (n <= 0) return;
  buf[n] = '\0';
  char *best = NULL;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "forksrv: ", 9) == 0 && strstr(line, "server not started")) {
      best = line;
      break;
    }
    if (line[strspn(line, " \t\r")]) best = line;
  }
  if (best) snprintf(out, cap, "%s", best);
}

/* The usual reasons a target runs without ever saying hello: the loader never saw the preload. */
static const char *no_server_reason(const char *exe) {
  struct stat st;
  if (stat(exe, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
    return "no fork server in it: setuid and setgid targets ignore LD_PRELOAD (link it with libforksrv.a)";
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  Elf64_Ehdr eh;
  int dynamic = 0, elf64 = 0;
  if (fd >= 0 && pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
      eh.e_ident[EI_CLASS] == ELFCLASS64) {
    elf64 = 1;
    for (unsigned i = 0; i < eh.e_phnum && !dynamic; i++) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) != (ssize_t)sizeof ph) break;
      dynamic = ph.p_type == PT_INTERP;
    }
  }
  if (fd >= 0) close(fd);
  if (elf64 && !dynamic) return "no fork server in it: it is statically linked, so LD_PRELOAD cannot reach it (link it with libforksrv.a)";
  return NULL;
}

static void describe_status(int status, char *out, size_t cap) {
  if (WIFEXITED(status))
    snprintf(out, cap, "exit code %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, cap, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  else
    snprintf(out, cap, "wait status 0x%x", status);
}

static int startup_failed(struct drv *d, const char *what, int status) {
  char how[64], gist[400];
  describe_status(status, how, sizeof how);
  stderr_gist(d->sp.stderr_capture, gist, sizeof gist);
  const char *reason = strstr(gist, "server not started") ? NULL : no_server_reason(d->sp.exe);
  if (reason) return fail(d, "%s (%s): %s", what, how, reason);
  if (gist[0]) return fail(d, "%s (%s): %s", what, how, gist);
  return fail(d, "%s (%s)", what, how);
}

/* Kills and reaps the server, which is our own child and still unreaped. */
static int end_server(struct drv *d, int grace_ms) {
  int status = 0, killed = 0;
  if (d->server_pid <= 0) return 0;
  struct pollfd p = {d->server_pidfd, POLLIN, 0};
  if (grace_ms > 0) {
    while (poll(&p, 1, grace_ms) < 0 && errno == EINTR) {}
  }
  if (grace_ms <= 0 || !(p.revents & POLLIN)) {
    kill(d->server_pid, SIGKILL);
    kill(-d->server_pid, SIGKILL);
    killed = 1;
  }
  while (waitpid(d->server_pid, &status, 0) < 0 && errno == EINTR) {}
  close(d->server_pidfd);
  d->server_pid = 0;
  d->server_pidfd = -1;
  return killed ? -1 : status;
}

/* What the server said on stderr before its hello, kept for the caller: lines "forksrv: warning: ...". */
static void collect_warnings(struct drv *d) {
  char buf[4096];
  if (d->sp.stderr_capture < 0) return;
  ssize_t n = pread(d->sp.stderr_capture, buf, sizeof buf - 1, 0);
  size_t used = 0;
  if (n <= 0) return;
  buf[n] = '\0';
  used = strlen(d->warnings); /* after any kept from a start that fell back */
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "forksrv: note: ", 15) == 0) snprintf(d->note, sizeof d->note, "%s", line + 15);
    if (strncmp(line, "forksrv: warning: ", 18) != 0) continue;
    int k = snprintf(d->warnings + used, sizeof d->warnings - used, "%s\n", line);
    if (k < 0 || (size_t)k >= sizeof d->warnings - used) break;
    used += (size_t)k;
  }
}

/* Whether the target calls forksrv_start(): forksrv.h puts a signature into every binary that does. */
static int calls_forksrv_start(const char *exe) {
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  struct stat st;
  int found = 0;
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      found = memmem(map, (size_t)st.st_size, FIFO_DEFERRED_SIGNATURE, sizeof FIFO_DEFERRED_SIGNATURE - 1) != NULL;
      munmap(map, (size_t)st.st_size);
    }
  }
  if (fd >= 0) close(fd);
  return found;
}

/* The server's first message: its hello, or a notice that it may not start where it was asked to (the
 * target then ends). */
static int await_hello(struct drv *d) {
  unsigned limit = d->cfg.startup_timeout_ms ? d->cfg.startup_timeout_ms : DEFAULT_STARTUP_MS;
  struct pollfd p[3] = {{d->rep, POLLIN, 0}, {d->server_pidfd, POLLIN, 0}, {d->cfg.cancel_fd, POLLIN, 0}};
  long left = limit;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    int r = poll(p, d->cfg.cancel_fd >= 0 ? 3 : 2, (int)left);
    if (r < 0 && errno != EINTR) return fail(d, "poll: %s", strerror(errno));
    if (r > 0 && p[2].revents) {
      end_server(d, 0);
      errno = EINTR;
      return fail(d, "interrupted before the handshake");
    }
    if (r > 0 && (p[0].revents & POLLIN)) break;
    if (r > 0 && p[1].revents) {
      int status = 0;
      while (waitpid(d->server_pid, &status, 0) < 0 && errno == EINTR) {}
      close(d->server_pidfd);
      d->server_pid = 0;
      d->server_pidfd = -1;
      d->ended_early = 1;
      d->early_status = status;
      return startup_failed(d, "target exited before the handshake", status);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    left = limit - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) {
      end_server(d, 0);
      char gist[400];
      stderr_gist(d->sp.stderr_capture, gist, sizeof gist);
      const char *reason = strstr(gist, "server not started") ? gist : no_server_reason(d->sp.exe);
      if (!reason && !gist[0] && d->starting_at == DRV_START_INPUT)
        reason = "the target is still starting, or waits for something before it touches its input";
      if (!reason) reason = gist[0] ? gist : "the target is still starting, or hangs before its constructors run";
      return fail(d, "no handshake within %u ms (--startup-timeout): %s", limit, reason);
    }
  }
  unsigned char buf[FIFO_HELLO_SIZE];
  ssize_t n = read(d->rep, buf, sizeof buf);
  struct fifo_hello h;
  if (n == (ssize_t)sizeof buf && fifo_decode_notice(buf, &d->notice) == 0 && d->notice.pid == d->server_pid) {
    d->noticed = 1;
    int status = end_server(d, STOP_GRACE_MS);
    return startup_failed(d, "the server refused to start there", status < 0 ? SIGKILL : status);
  }
  if (n != (ssize_t)sizeof buf || fifo_decode_hello(buf, &h) < 0) {
    end_server(d, 0);
    return fail(d, "handshake: the target sent something that is not a forksrv hello (%zd bytes)", n);
  }
  if (h.version != FIFO_PROTOCOL_VERSION) {
    end_server(d, 0);
    return fail(d, "protocol version mismatch: the server speaks %u, this driver %u", h.version,
                FIFO_PROTOCOL_VERSION);
  }
  if (h.pid != d->server_pid) {
    int target = d->server_pid;
    end_server(d, 0);
    return fail(d, "handshake came from pid %d, not from the target (pid %d): a descendant started the server",
                h.pid, target);
  }
  d->start_point = h.start;
  collect_warnings(d);
  return 0;
}

/* The loader splits LD_PRELOAD at spaces and colons and has no way to quote them: a library whose
 * path holds one (forksrv installed under "/opt/a b") is named by /proc/<our pid>/fd/N instead,
 * which leads to the same file for as long as we run, as the FIFOs are. i: 0 the preload, 1 the
 * input hooks. */
static int loader_name(struct drv *d, int i, char *path, size_t cap) {
  if (!strpbrk(path, " \t\n:")) return 0;
  if (d->lib_fds[i] < 0 && (d->lib_fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return fail(d, "open %s: %s", path, strerror(errno));
  snprintf(path, cap, "/proc/%d/fd/%d", (int)getpid(), d->lib_fds[i]);
  return 0;
}

/* libforksrv_input.so, beside the preload (real, its real path), after it in LD_PRELOAD:
 * "PRELOAD:DIR/libforksrv_input.so". */
static int with_input_hooks(struct drv *d, const char *real, char *preload, size_t cap) {
  char hooks[PATH_MAX + 32];
  snprintf(hooks, sizeof hooks, "%s", real);
  char *slash = strrchr(hooks, '/');
  snprintf(slash ? slash : hooks, sizeof hooks - (size_t)(slash ? slash - hooks : 0), "%s", "/libforksrv_input.so");
  if (access(hooks, R_OK) < 0) return fail(d, "--start input needs %s: %s", hooks, strerror(errno));
  if (loader_name(d, 1, hooks, sizeof hooks) < 0) return -1;
  size_t used = strlen(preload);
  if (snprintf(preload + used, cap - used, ":%s", hooks) >= (int)(cap - used)) return fail(d, "preload path too long");
  return 0;
}

/* Whether the server starts with LD_BIND_NOW=1: unless lazy binding was asked for or is all the
 * target can start with, or the caller's environment says how to bind already. */
static int binds_now(const struct drv *d) {
  return !d->cfg.lazy_binding && !d->bind_fallback && !getenv("LD_BIND_NOW");
}

static int start_at(struct drv *d, int start_point) {
  d->starting_at = start_point;
  d->ended_early = d->noticed = 0;
  char req[64], rep[64], real[PATH_MAX], preload[2 * PATH_MAX + 32];
  if (find_preload(d, real, sizeof real) < 0) return -1;
  snprintf(preload, sizeof preload, "%s", real);
  if (loader_name(d, 0, preload, sizeof preload) < 0) return -1;
  const char *start = !d->no_deferred && calls_forksrv_start(d->sp.exe) ? "deferred"
                      : start_point == DRV_START_MAIN                     ? "main"
                      : start_point == DRV_START_INPUT                    ? "input"
                                                                          : NULL;
  if (start && !strcmp(start, "input") && with_input_hooks(d, real, preload, sizeof preload) < 0) return -1;
  /* The input has been read by nobody yet: a late start point checks that with its atime. */
  struct timespec times[2] = {{FIFO_UNREAD_ATIME, 0}, {0, UTIME_OMIT}};
  if (futimens(d->in.fd, times) < 0) return fail(d, "set the atime of %s: %s", d->in.path, strerror(errno));
  if (make_fifos(d, req, rep, sizeof req) < 0) return -1;
  if (drv_spawn_env(&d->sp, req, rep, preload, start, d->in.path, !d->in.by_path, binds_now(d)) < 0)
    return fail(d, "environment: %s", strerror(errno));
  int err = 0;
  d->server_pid = drv_spawn(&d->sp, &err);
  if (d->server_pid < 0) return fail(d, "%s", d->sp.err);
  d->server_pidfd = (int)syscall(SYS_pidfd_open, d->server_pid, 0);
  if (d->server_pidfd < 0) {
    end_server(d, 0);
    return fail(d, "pidfd_open: %s", strerror(errno));
  }
  return await_hello(d);
}

/* Closes what a failed start left, for the next try, and keeps a warning: the failure's gist between
 * before and after, or the line given. */
static int start_again(struct drv *d, int start_point, const char *before, const char *after, const char *line) {
  char gist[400];
  stderr_gist(d->sp.stderr_capture, gist, sizeof gist);
  size_t used = strlen(d->warnings);
  if (line)
    snprintf(d->warnings + used, sizeof d->warnings - used, "%s\n", line);
  else if (gist[0])
    snprintf(d->warnings + used, sizeof d->warnings - used, "%s%s%s\n", before, gist, after);
  if (d->req >= 0) close(d->req);
  if (d->rep >= 0) close(d->rep);
  d->req = d->rep = -1;
  if (d->sp.stderr_capture >= 0 && ftruncate(d->sp.stderr_capture, 0) < 0)
    return fail(d, "truncate stderr capture: %s", strerror(errno));
  if (d->sp.stdout_capture >= 0 && ftruncate(d->sp.stdout_capture, 0) < 0)
    return fail(d, "truncate stdout capture: %s", strerror(errno));
  return start_at(d, start_point);
}

/* Where a start fails, the next that may work. A notice names it: the input start point refuses where
 * a fork would not be safe (threads, a filled stdin buffer: then main), and any late one where the
 * input was read before it (then the entry). A target that ends before it touches its input (a
 * usage error, an exec of something the hooks do not reach) starts at the entry, where each input
 * gets the outcome a direct run gives. A target that LD_BIND_NOW keeps from starting (a symbol no
 * library has, which lazy binding only looks for when called) starts again with lazy binding. */
static int start_server(struct drv *d) {
  int r = start_at(d, d->cfg.start);
  for (int tries = 0; r < 0 && tries < 4; tries++) {
    int exited = d->ended_early && WIFEXITED(d->early_status);
    if (binds_now(d) && !d->noticed &&
        (strstr(d->err, FIFO_UNDEFINED_SYMBOL) || (d->sp.stderr_capture < 0 && exited && WEXITSTATUS(d->early_status) == 127))) {
      d->bind_fallback = 1;
      r = start_again(d, d->starting_at, "forksrv: warning: with LD_BIND_NOW=1: ",
                      "; binding lazily instead, in every child (slower)", NULL);
    } else if (d->noticed && d->notice.code != FIFO_NOTICE_READ_EARLY && d->starting_at == DRV_START_INPUT) {
      r = start_again(d, DRV_START_MAIN, "", "", NULL);
    } else if (d->noticed && d->notice.code == FIFO_NOTICE_READ_EARLY && d->starting_at != DRV_START_EARLY) {
      d->no_deferred = 1;
      r = start_again(d, DRV_START_EARLY, "", "", NULL);
    } else if (d->ended_early && d->starting_at == DRV_START_INPUT) {
      char how[64], line[256];
      describe_status(d->early_status, how, sizeof how);
      snprintf(line, sizeof line,
               "forksrv: note: --start input: the target ended (%s) before it touched its input; it starts at its entry instead",
               how);
      r = start_again(d, DRV_START_EARLY, "", "", line);
    } else {
      break;
    }
  }
  return r;
}

/* Frees d and everything it made. With its request FIFO closed the server kills any running child,
 * reaps everything and exits; returns -1 if it had to be killed instead. */
static int release(struct drv *d) {
  drv_plain_stop(&d->plain);
  if (d->req >= 0) close(d->req);
  if (d->rep >= 0) close(d->rep);
  int status = end_server(d, STOP_GRACE_MS);
  drv_spawn_free(&d->sp);
  drv_infile_close(&d->in);
  drv_captures_free(&d->caps);
  for (int i = 0; i < 2; i++)
    if (d->lib_fds[i] >= 0) close(d->lib_fds[i]);
  free(d);
  return status < 0 ? -1 : 0;
}

struct drv *drv_start(const struct drv_config *cfg, char *err, size_t errlen) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "calloc: %s", strerror(errno));
    return NULL;
  }
  d->cfg = *cfg;
  d->req = d->rep = d->server_pidfd = d->lib_fds[0] = d->lib_fds[1] = -1;
  d->plain.req = d->plain.rep = d->plain.pidfd = -1;
  d->in.fd = d->in.dirfd = d->in.stdin_fd = -1;
  d->sp.stdin_fd = d->sp.null_fd = d->sp.stdout_fd = d->sp.stderr_fd = d->sp.stdout_capture = d->sp.stderr_capture = -1;
  int by_path = drv_takes_path(cfg->argv);
  int ok = drv_infile_open(&d->in, cfg->input_name ? cfg->input_name : "input", by_path, d->err, sizeof d->err);
  if (ok == 0 && drv_spawn_init(&d->sp, cfg->argv, d->in.path, by_path ? -1 : d->in.stdin_fd, cfg->show_output,
                                cfg->capture_stdout, cfg->capture_stderr) < 0)
    ok = fail(d, "%s", d->sp.err);
  d->caps = (struct drv_captures){.fd = {d->sp.stdout_capture, d->sp.stderr_capture}};
  if (ok == 0 && cfg->no_server) ok = drv_plain_start(&d->plain, &d->sp, d->err, sizeof d->err);
  if (ok == 0 && !cfg->no_server) ok = start_server(d);
  if (ok < 0) {
    snprintf(err, errlen, "%s", d->err);
    release(d);
    return NULL;
  }
  return d;
}

/* Before each execution: a pristine input file, and captures that hold only what this one writes. */
static int put_input(struct drv *d, const void *input, size_t len) {
  if (drv_infile_put(&d->in, input, len, d->err, sizeof d->err) < 0) return -1;
  if (drv_captures_reset(&d->caps) < 0) return fail(d, "truncate the output captures: %s", strerror(errno));
  return 0;
}

static void fill_result(struct drv_result *res, const struct fifo_result *r) {
  memset(res, 0, sizeof *res);
  res->outcome = (enum drv_outcome)r->reason;
  res->pid = r->pid;
  res->status = r->status;
  res->error = -r->error;
  res->wall_us = r->wall_us;
  res->utime_us = r->utime_us;
  res->stime_us = r->stime_us;
  res->maxrss_kb = r->maxrss_kb;
  if (r->reason == FIFO_EXITED || r->reason == FIFO_SIGNALLED || r->reason == FIFO_TIMED_OUT) {
    res->exit_code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 0;
    res->signal = WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0;
  }
}

static int server_gone(struct drv *d) {
  char how[64];
  int status = end_server(d, 1000);
  if (status < 0) return fail(d, "server stopped answering; killed it");
  describe_status(status, how, sizeof how);
  return fail(d, "server died (%s)", how);
}

static int send_request(struct drv *d, const struct fifo_request *rq) {
  unsigned char buf[FIFO_REQUEST_SIZE];
  fifo_encode_request(buf, rq);
  ssize_t n;
  while ((n = write(d->req, buf, FIFO_REQUEST_SIZE)) < 0 && errno == EINTR) {}
  return n == FIFO_REQUEST_SIZE ? 0 : fail(d, "write request: %s", strerror(errno));
}

static void end_captures(struct drv *d, struct drv_result *res) {
  uint64_t cut[2];
  drv_captures_end(&d->caps, cut);
  res->stdout_cut = cut[0];
  res->stderr_cut = cut[1];
}

/* One result, as fifo/protocol.h describes the exchange: duplicates of earlier ones are dropped, and
 * a request lost with a persistent child is sent again. */
static int server_result(struct drv *d, uint64_t deadline_us, struct drv_result *res) {
  struct pollfd p[3] = {{d->rep, POLLIN, 0}, {d->server_pidfd, POLLIN, 0}, {d->cfg.cancel_fd, POLLIN, 0}};
  for (;;) {
    int r;
    do r = poll(p, d->cfg.cancel_fd >= 0 ? 3 : 2, drv_captures_wait_ms(&d->caps, drv_ms_until(deadline_us)));
    while (r < 0 && errno == EINTR);
    if (r > 0 && p[2].revents) {
      errno = EINTR;
      return fail(d, "interrupted");
    }
    if (r == 0 && (!deadline_us || drv_now_us() < deadline_us)) {
      drv_captures_look(&d->caps);
      continue;
    }
    if (r == 0) {
      end_server(d, 0);
      return fail(d, "server gave no result within %u ms; killed it", d->cfg.timeout_ms + ANSWER_GRACE_MS);
    }
    if (!(p[0].revents & POLLIN)) return server_gone(d);
    unsigned char buf[FIFO_RESULT_SIZE];
    ssize_t n = read(d->rep, buf, sizeof buf);
    if (n == 0) return server_gone(d);
    struct fifo_result out;
    /* Serial arithmetic: seqs wrap after 2^32 requests, which a fuzzer reaches in a day. */
    if (n != (ssize_t)sizeof buf || fifo_decode_result(buf, &out) < 0 || out.reason == FIFO_EXEC_FAILED ||
        (int32_t)(out.seq - d->rq.seq) > 0) {
      end_server(d, 0);
      return fail(d, "malformed result from the server (%zd bytes); killed it", n);
    }
    if ((int32_t)(out.seq - d->rq.seq) < 0) continue;
    if (out.reason == FIFO_RESEND) {
      if (send_request(d, &d->rq) < 0) return -1;
      continue;
    }
    fill_result(res, &out);
    end_captures(d, res);
    return 0;
  }
}

static int plain_result(struct drv *d, struct drv_result *res) {
  struct fifo_result out;
  if (!d->plain.helper && drv_plain_start(&d->plain, &d->sp, d->err, sizeof d->err) < 0) return -1;
  if (drv_plain_run(&d->plain, d->cfg.timeout_ms, d->cfg.cancel_fd, &d->caps, &out, d->err, sizeof d->err) < 0)
    return -1;
  if (out.reason == FIFO_EXEC_FAILED) {
    errno = -out.error;
    return fail(d, "cannot execute %s: %s", d->sp.argv[0], strerror(-out.error));
  }
  fill_result(res, &out);
  end_captures(d, res);
  return 0;
}

int drv_run(struct drv *d, const void *input, size_t len, struct drv_result *res) {
  if (d->cfg.no_server) return drv_run_plain(d, input, len, res);
  if (d->server_pid <= 0) return fail(d, "no server");
  if (put_input(d, input, len) < 0) return -1;
  d->rq = (struct fifo_request){.seq = ++d->seq, .timeout_ms = d->cfg.timeout_ms};
  if (send_request(d, &d->rq) < 0) return -1;
  /* The server enforces the timeout; this is for a hung server. */
  uint64_t deadline = d->cfg.timeout_ms ? drv_now_us() + (d->cfg.timeout_ms + ANSWER_GRACE_MS) * 1000ull : 0;
  return server_result(d, deadline, res);
}

int drv_run_plain(struct drv *d, const void *input, size_t len, struct drv_result *res) {
  if (put_input(d, input, len) < 0) return -1;
  return plain_result(d, res);
}

void drv_input_attrs(struct drv *d, unsigned mode, struct timespec mtime) { drv_infile_attrs(&d->in, mode, mtime); }
const char *drv_input_path(const struct drv *d) { return d->in.path; }
int drv_stderr_fd(const struct drv *d) { return d->sp.stderr_capture; }
int drv_stdout_fd(const struct drv *d) { return d->sp.stdout_capture; }
int drv_server_pid(const struct drv *d) { return d->server_pid > 0 ? d->server_pid : 0; }
const char *drv_start_point(const struct drv *d) {
  switch (d->start_point) {
  case FIFO_START_ENTRY: return "entry";
  case FIFO_START_CONSTRUCTOR: return "constructor";
  case FIFO_START_PREINIT: return "preinit";
  case FIFO_START_MAIN: return "main";
  case FIFO_START_DEFERRED: return "deferred";
  case FIFO_START_INPUT: return "input";
  }
  return "none";
}
const char *drv_warnings(const struct drv *d) { return d->warnings; }
const char *drv_binding(const struct drv *d) {
  if (d->cfg.no_server) return "";
  if (d->bind_fallback) return "lazy, LD_BIND_NOW failed";
  if (d->cfg.lazy_binding) return "lazy";
  return binds_now(d) ? "now" : "environment";
}
const char *drv_start_note(const struct drv *d) { return d->note; }
const char *drv_error(const struct drv *d) { return d->err; }

int drv_stop(struct drv *d) { return release(d); }
