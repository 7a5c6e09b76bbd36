/* The client side of forksrv: makes two FIFOs in a private directory, opens its ends and removes
 * them from disk at once (the server opens them through /proc/<driver pid>/fd, so even a SIGKILL of
 * the driver leaves nothing behind), starts the target with the preload, waits for the hello, and
 * then runs inputs through the server.
 * With no_server it runs the same inputs by fork+exec instead, with the same files on fds 0-2, so
 * that the two can be compared input for input. This process signals only its own unreaped children. */
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
#include "forksrv_client.h"
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
  int input_fd;  /* a memfd holding the current input */
  size_t input_len;
  int file_mode; /* the input is passed as a path ("@@"), not as stdin */
  int req, rep;
  int server_pid, server_pidfd;
  unsigned start_point;
  char warnings[1024];
  char note[256];     /* the server's "forksrv: note: " line (the input start's trigger) */
  int starting_at;    /* the start point being tried (enum drv_start) */
  int bind_fallback;  /* binding lazily: the target could not start with LD_BIND_NOW=1 */
  uint32_t seq;
  /* The input in flight (drv_submit to drv_collect): */
  int busy;
  int settled;              /* its result is already known (a --no-server fork that failed) */
  struct drv_result early;  /* that result */
  uint64_t deadline_us;     /* when to stop waiting for it (0: never) */
  struct fifo_request rq;
  struct drv_spawn_job job; /* --no-server: its process */
  char dir[PATH_MAX]; /* the private FIFO directory; "" once removed */
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

static void remove_dir(struct drv *d) {
  char path[PATH_MAX + 8];
  if (!d->dir[0]) return;
  snprintf(path, sizeof path, "%s/req", d->dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/rep", d->dir);
  unlink(path);
  rmdir(d->dir);
  d->dir[0] = '\0';
}

static int make_fifos(struct drv *d, char *req, char *rep, size_t cap) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/forksrv.XXXXXX", tmp) >= (int)sizeof dir)
    return fail(d, "mkdtemp %s/forksrv.XXXXXX: %s", tmp, strerror(ENAMETOOLONG));
  if (!mkdtemp(dir)) return fail(d, "mkdtemp %s/forksrv.XXXXXX: %s", tmp, strerror(errno));
  strcpy(d->dir, dir);
  snprintf(req, cap, "%s/req", dir);
  snprintf(rep, cap, "%s/rep", dir);
  if (mkfifo(req, 0600) < 0) return fail(d, "mkfifo %s: %s", req, strerror(errno));
  if (mkfifo(rep, 0600) < 0) return fail(d, "mkfifo %s: %s", rep, strerror(errno));
  /* Our reader first, so the server's non-blocking open for writing finds it; our request end is
   * opened read-write so that it never blocks and never needs a reader yet. */
  d->rep = drv_fd_above_stdio(open(rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (d->rep < 0) return fail(d, "open %s: %s", rep, strerror(errno));
  d->req = drv_fd_above_stdio(open(req, O_RDWR | O_CLOEXEC));
  if (d->req < 0) return fail(d, "open %s: %s", req, strerror(errno));
  remove_dir(d);
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
 * else the last non-empty line (the dynamic loader's message, a sanitizer's summary). */
static void stderr_gist(int fd, char *out, size_t cap) {
  char buf[8192];
  out[0] = '\0';
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
  stderr_gist(d->sp.stderr_fd, gist, sizeof gist);
  const char *reason = strstr(gist, "server not started") ? NULL : no_server_reason(d->sp.exe);
  if (!reason && d->starting_at == DRV_START_INPUT && !strstr(gist, FIFO_INPUT_FALLBACK))
    reason = "it never touched its input in a call --start input sees (try --start main)";
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
  ssize_t n = pread(d->sp.stderr_fd, buf, sizeof buf - 1, 0);
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
      return startup_failed(d, "target exited before the handshake", status);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    left = limit - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) {
      end_server(d, 0);
      char gist[400];
      stderr_gist(d->sp.stderr_fd, gist, sizeof gist);
      const char *reason = strstr(gist, "server not started") ? gist : no_server_reason(d->sp.exe);
      if (!reason) reason = gist[0] ? gist : "the target is still starting, or hangs before its constructors run";
      return fail(d, "no handshake within %u ms (--startup-timeout): %s", limit, reason);
    }
  }
  unsigned char buf[FIFO_HELLO_SIZE];
  ssize_t n = read(d->rep, buf, sizeof buf);
  struct fifo_hello h;
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

/* libforksrv_input.so, beside the preload, after it in LD_PRELOAD: "PRELOAD:DIR/libforksrv_input.so". */
static int with_input_hooks(struct drv *d, char *preload, size_t cap) {
  char hooks[PATH_MAX];
  if (strlen(preload) >= sizeof hooks) return fail(d, "preload path too long");
  memcpy(hooks, preload, strlen(preload) + 1);
  char *slash = strrchr(hooks, '/');
  if (slash) *slash = '\0';
  size_t used = strlen(preload);
  if (snprintf(preload + used, cap - used, ":%s/libforksrv_input.so", slash ? hooks : ".") >= (int)(cap - used))
    return fail(d, "preload path too long");
  if (access(preload + used + 1, R_OK) < 0)
    return fail(d, "--start input needs %s: %s", preload + used + 1, strerror(errno));
  return 0;
}

/* Whether the server starts with LD_BIND_NOW=1: unless lazy binding was asked for or is all the
 * target can start with, or the caller's environment says how to bind already. */
static int binds_now(const struct drv *d) {
  return !d->cfg.lazy_binding && !d->bind_fallback && !getenv("LD_BIND_NOW");
}

static int start_at(struct drv *d, int start_point) {
  d->starting_at = start_point;
  char req[PATH_MAX + 8], rep[PATH_MAX + 8], preload[2 * PATH_MAX + 32], input[64];
  if (find_preload(d, preload, PATH_MAX) < 0) return -1;
  const char *start = calls_forksrv_start(d->sp.exe) ? "deferred"
                      : start_point == DRV_START_MAIN  ? "main"
                      : start_point == DRV_START_INPUT ? "input"
                                                       : NULL;
  int by_input = start && !strcmp(start, "input");
  if (by_input) {
    if (with_input_hooks(d, preload, sizeof preload) < 0) return -1;
    if (d->file_mode)
      snprintf(input, sizeof input, "/proc/%d/fd/%d", (int)getpid(), d->input_fd);
    else
      snprintf(input, sizeof input, "stdin");
  }
  if (make_fifos(d, req, rep, sizeof req) < 0) return -1;
  if (drv_spawn_env(&d->sp, req, rep, preload, start, by_input ? input : NULL, binds_now(d)) < 0)
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

/* Closes what a failed start left, for the next try, and keeps the failure's gist as a warning: its
 * line, between before and after. */
static int start_again(struct drv *d, int start_point, const char *before, const char *after) {
  char gist[400];
  stderr_gist(d->sp.stderr_fd, gist, sizeof gist);
  size_t used = strlen(d->warnings);
  snprintf(d->warnings + used, sizeof d->warnings - used, "%s%s%s\n", before, gist, after);
  if (d->req >= 0) close(d->req);
  if (d->rep >= 0) close(d->rep);
  d->req = d->rep = -1;
  remove_dir(d);
  if (ftruncate(d->sp.stderr_fd, 0) < 0) return fail(d, "truncate stderr capture: %s", strerror(errno));
  return start_at(d, start_point);
}

/* The input start point refuses where a fork would not be safe (threads, a filled stdin buffer) and
 * says so; then the target starts again with the server at main. A target that LD_BIND_NOW keeps from
 * starting (it needs a symbol no library has, which lazy binding would only look for when called)
 * starts again with lazy binding. Either refusal is kept as a warning. */
static int start_server(struct drv *d) {
  int r = start_at(d, d->cfg.start);
  if (r < 0 && binds_now(d) && strstr(d->err, FIFO_UNDEFINED_SYMBOL)) {
    d->bind_fallback = 1;
    r = start_again(d, d->cfg.start, "forksrv: warning: with LD_BIND_NOW=1: ",
                    "; binding lazily instead, in every child (slower)");
  }
  if (r == 0 || d->cfg.start != DRV_START_INPUT || !strstr(d->err, FIFO_INPUT_FALLBACK)) return r;
  return start_again(d, DRV_START_MAIN, "", "");
}

/* Frees d and everything it made. With its request FIFO closed the server kills any running child,
 * reaps everything and exits; returns -1 if it had to be killed instead. */
static int release(struct drv *d) {
  if (d->busy && d->cfg.no_server && d->job.pid > 0) {
    /* Unreaped, so the pid and the group are still its own. */
    kill(d->job.pid, SIGKILL);
    kill(-d->job.pid, SIGKILL);
    while (waitpid(d->job.pid, NULL, 0) < 0 && errno == EINTR) {}
    close(d->job.pidfd);
  }
  if (d->req >= 0) close(d->req);
  if (d->rep >= 0) close(d->rep);
  int status = end_server(d, STOP_GRACE_MS);
  remove_dir(d);
  drv_spawn_free(&d->sp);
  if (d->input_fd >= 0) close(d->input_fd);
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
  d->req = d->rep = d->server_pidfd = d->input_fd = -1;
  d->job.pid = d->job.pidfd = -1;
  d->input_fd = drv_fd_above_stdio(memfd_create("forksrv-input", MFD_CLOEXEC));
  int ok = d->input_fd >= 0 ? 0 : fail(d, "memfd_create: %s", strerror(errno));
  if (ok == 0 && drv_spawn_init(&d->sp, cfg->argv, d->input_fd, cfg->show_output, &d->file_mode) < 0) ok = fail(d, "%s", d->sp.err);
  if (ok == 0 && !cfg->no_server) ok = start_server(d);
  if (ok < 0) {
    snprintf(err, errlen, "%s", d->err);
    release(d);
    return NULL;
  }
  return d;
}

static int put_input(struct drv *d, const void *input, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(d->input_fd, (const char *)input + done, len - done, (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(d, "write input: %s", strerror(errno));
    done += (size_t)n;
  }
  if (len != d->input_len && ftruncate(d->input_fd, (off_t)len) < 0)
    return fail(d, "truncate input: %s", strerror(errno));
  d->input_len = len;
  /* Every child shares this file offset through fd 0; the last one left it wherever it stopped. */
  if (!d->file_mode && lseek(d->input_fd, 0, SEEK_SET) < 0) return fail(d, "rewind input: %s", strerror(errno));
  /* Only this run's stderr should be there afterwards; O_APPEND puts the children's writes at the end. */
  if (lseek(d->sp.stderr_fd, 0, SEEK_END) > 0 && ftruncate(d->sp.stderr_fd, 0) < 0)
    return fail(d, "truncate stderr capture: %s", strerror(errno));
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
  if (r->reason != FIFO_FORK_FAILED && r->reason != FIFO_WAIT_FAILED) {
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

/* One result, as fifo/protocol.h describes the exchange: duplicates of earlier ones are dropped, and
 * a request lost with a persistent child is sent again. */
static int server_result(struct drv *d, struct drv_result *res) {
  struct pollfd p[3] = {{d->rep, POLLIN, 0}, {d->server_pidfd, POLLIN, 0}, {d->cfg.cancel_fd, POLLIN, 0}};
  for (;;) {
    int r;
    do r = poll(p, d->cfg.cancel_fd >= 0 ? 3 : 2, drv_ms_until(d->deadline_us));
    while (r < 0 && errno == EINTR);
    if (r > 0 && p[2].revents) {
      errno = EINTR;
      return fail(d, "interrupted");
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
    if (n != (ssize_t)sizeof buf || fifo_decode_result(buf, &out) < 0 || (int32_t)(out.seq - d->rq.seq) > 0) {
      end_server(d, 0);
      return fail(d, "malformed result from the server (%zd bytes); killed it", n);
    }
    if ((int32_t)(out.seq - d->rq.seq) < 0) continue;
    if (out.reason == FIFO_RESEND) {
      if (send_request(d, &d->rq) < 0) return -1;
      continue;
    }
    fill_result(res, &out);
    return 0;
  }
}

int drv_submit(struct drv *d, const void *input, size_t len) {
  if (d->busy) return fail(d, "an input is already in flight");
  if (!d->cfg.no_server && d->server_pid <= 0) return fail(d, "no server");
  if (put_input(d, input, len) < 0) return -1;
  uint32_t timeout_ms = d->cfg.timeout_ms;
  d->settled = 0;
  if (d->cfg.no_server) {
    if (drv_spawn_begin(&d->sp, &d->job, &d->early) < 0) return fail(d, "%s", d->sp.err);
    d->settled = d->job.pid < 0;
  } else {
    d->rq = (struct fifo_request){.seq = ++d->seq, .timeout_ms = timeout_ms};
    if (send_request(d, &d->rq) < 0) return -1;
    if (timeout_ms) timeout_ms += ANSWER_GRACE_MS; /* the server enforces the timeout; this is for a hung server */
  }
  d->deadline_us = timeout_ms ? drv_now_us() + timeout_ms * 1000ull : 0;
  d->busy = 1;
  return 0;
}

int drv_collect(struct drv *d, struct drv_result *res) {
  if (!d->busy) return fail(d, "no input in flight");
  d->busy = 0;
  if (d->settled) {
    *res = d->early;
    return 0;
  }
  if (!d->cfg.no_server) return server_result(d, res);
  if (drv_spawn_end(&d->sp, &d->job, d->deadline_us, d->cfg.cancel_fd, res) < 0) return fail(d, "%s", d->sp.err);
  return 0;
}

int drv_run(struct drv *d, const void *input, size_t len, struct drv_result *res) {
  if (drv_submit(d, input, len) < 0) return -1;
  return drv_collect(d, res);
}

int drv_wait_any(struct drv *const *ds, size_t n) {
  struct pollfd p[2 * DRV_MAX_JOBS + 1];
  size_t owner[2 * DRV_MAX_JOBS];
  if (n == 0 || n > DRV_MAX_JOBS) {
    errno = EINVAL;
    return -1;
  }
  for (;;) {
    uint64_t now = drv_now_us(), first = 0;
    nfds_t np = 0;
    for (size_t i = 0; i < n; i++) {
      struct drv *d = ds[i];
      if (!d->busy) continue;
      /* Settled, or past its deadline: drv_collect has the rest to do, without waiting. */
      if (d->settled || (d->deadline_us && now >= d->deadline_us)) return (int)i;
      if (d->deadline_us && (!first || d->deadline_us < first)) first = d->deadline_us;
      if (d->cfg.no_server) {
        p[np] = (struct pollfd){d->job.pidfd, POLLIN, 0}, owner[np++] = i;
      } else {
        p[np] = (struct pollfd){d->rep, POLLIN, 0}, owner[np++] = i;
        p[np] = (struct pollfd){d->server_pidfd, POLLIN, 0}, owner[np++] = i;
      }
    }
    if (np == 0) {
      errno = EINVAL;
      return -1;
    }
    int cancel_fd = ds[0]->cfg.cancel_fd;
    if (cancel_fd >= 0) p[np] = (struct pollfd){cancel_fd, POLLIN, 0};
    int r = poll(p, np + (cancel_fd >= 0), drv_ms_until(first));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (cancel_fd >= 0 && p[np].revents) {
      errno = EINTR;
      return -1;
    }
    for (nfds_t k = 0; k < np; k++)
      if (p[k].revents) return (int)owner[k];
  }
}

int drv_stderr_fd(const struct drv *d) { return d->sp.stderr_fd; }
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
