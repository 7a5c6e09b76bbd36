/* The plain fork+exec back end (--no-server, --verify): a helper process, subreaper of all it starts,
 * that per request forks and execs the target, enforces the timeout, reaps it and what it left, as
 * the server does, and answers in the server's result message: the baseline differs only in the exec.
 * Forked from a driver that may have threads, it makes only async-signal-safe calls and forks by the
 * raw system call (glibc's fork would take malloc's locks another thread may have held). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "plain.h"

/* The helper's fds, moved here before everything else it inherited is closed. */
enum { H_REQ = 3, H_REP, H_IN, H_OUT, H_ERR, H_FIRST_FREE };

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t tv_us(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec; }

static int write_full(int fd, const void *buf, size_t n) {
  for (size_t done = 0; done < n;) {
    ssize_t w = write(fd, (const char *)buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return 0;
}

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int kill_each_child(void) {
  char buf[4096];
  int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC), killed = 0, in_number = 0;
  long pid = 0;
  if (fd < 0) return 0;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        in_number = 1;
      } else if (in_number) {
        killed += pid > 0 && kill((pid_t)pid, SIGKILL) == 0;
        pid = in_number = 0;
      }
    }
  }
  killed += in_number && pid > 0 && kill((pid_t)pid, SIGKILL) == 0;
  close(fd);
  return killed;
}

/* What the execution left: every child of the helper now is an orphan of it (the helper is their
 * subreaper) and unreaped, so its pid is its own to signal. */
static void sweep(void) {
  for (;;) {
    pid_t r = waitpid(-1, NULL, WNOHANG | __WALL);
    if (r > 0 || (r < 0 && errno == EINTR)) continue;
    if (r < 0 || kill_each_child() == 0) return;
    while (waitpid(-1, NULL, __WALL) < 0 && errno == EINTR) {}
  }
}

static __attribute__((noreturn)) void exec_target(const struct drv_spawn *sp, pid_t helper, int errw) {
  /* Its own group, as under the server: a timeout kills what it started. */
  setpgid(0, 0);
  int err = 0;
  if (dup2(H_IN, 0) < 0 || dup2(H_OUT, 1) < 0 || dup2(H_ERR, 2) < 0) err = errno;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != helper) _exit(127);
  if (!err) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(sp->exe, sp->argv, sp->plain_envp);
    err = errno;
  }
  while (write(errw, &err, sizeof err) < 0 && errno == EINTR) {}
  _exit(127);
}

/* One execution: its result, ready to send. The driver hanging up mid-run ends the helper. */
static void run_one(const struct drv_spawn *sp, const struct fifo_request *rq, struct fifo_result *res) {
  int ep[2];
  *res = (struct fifo_result){.seq = rq->seq};
  if (pipe2(ep, O_CLOEXEC) < 0) {
    res->reason = FIFO_FORK_FAILED;
    res->error = -errno;
    return;
  }
  pid_t helper = getpid();
  uint64_t started = now_us();
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) exec_target(sp, helper, ep[1]);
  int saved = errno;
  close(ep[1]);
  if (pid < 0) {
    close(ep[0]);
    res->reason = FIFO_FORK_FAILED;
    res->error = -saved;
    return;
  }
  int err = 0;
  ssize_t n;
  while ((n = read(ep[0], &err, sizeof err)) < 0 && errno == EINTR) {}
  close(ep[0]);
  res->pid = pid;
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  if (n != 0) {
    while (wait4(pid, &status, __WALL, &ru) < 0 && errno == EINTR) {}
    res->reason = FIFO_EXEC_FAILED;
    res->error = -(n == (ssize_t)sizeof err && err ? err : EIO);
    return;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  /* events 0 on the request pipe: only the driver's end closing wakes us. */
  struct pollfd p[2] = {{pidfd, POLLIN, 0}, {H_REQ, 0, 0}};
  uint64_t deadline = rq->timeout_ms ? started + rq->timeout_ms * 1000ull : 0;
  int timed_out = 0, gone = 0;
  while (pidfd >= 0) {
    uint64_t t = now_us();
    int left = !deadline ? -1 : t >= deadline ? 0 : (int)((deadline - t + 999) / 1000);
    int r = poll(p, 2, left);
    if (r < 0 && errno == EINTR) continue;
    gone = r > 0 && p[1].revents;
    timed_out = r == 0;
    break;
  }
  /* Without a pidfd (no fd left), the timeout cannot be kept: wait for the end, leaving the child
   * unreaped so that its group may still be signalled. */
  siginfo_t info;
  if (pidfd < 0)
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | __WALL) < 0 && errno == EINTR) {}
  if (timed_out || gone) kill(pid, SIGKILL);
  /* The child is unreaped, so its group id cannot have been recycled. */
  kill(-pid, SIGKILL);
  long w;
  while ((w = wait4(pid, &status, __WALL, &ru)) < 0 && errno == EINTR) {}
  if (pidfd >= 0) close(pidfd);
  sweep();
  if (gone) _exit(0);
  res->wall_us = now_us() - started;
  res->status = status;
  res->utime_us = tv_us(ru.ru_utime);
  res->stime_us = tv_us(ru.ru_stime);
  res->maxrss_kb = (uint64_t)ru.ru_maxrss;
  if (w < 0) {
    res->reason = FIFO_WAIT_FAILED;
    res->error = -errno;
  } else if (WIFEXITED(status)) {
    res->reason = FIFO_EXITED;
  } else {
    res->reason = timed_out && WTERMSIG(status) == SIGKILL ? FIFO_TIMED_OUT : FIFO_SIGNALLED;
  }
}

static __attribute__((noreturn)) void be_helper(const struct drv_spawn *sp, int req, int rep) {
  /* The terminal's signals are the driver's to act on; the helper ends when the driver goes. */
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  int keep[H_FIRST_FREE - 3] = {req, rep, sp->stdin_fd, sp->stdout_fd, sp->stderr_fd};
  for (int i = 0; i < H_FIRST_FREE - 3; i++)
    if ((keep[i] = fcntl(keep[i], F_DUPFD, 64)) < 0) _exit(1);
  for (int i = 0; i < H_FIRST_FREE - 3; i++)
    if (dup2(keep[i], 3 + i) < 0) _exit(1);
  /* Nothing else of the driver's stays open here: a FIFO end or the janitor's pipe held by the
   * helper would outlive the driver. */
  if (syscall(SYS_close_range, H_FIRST_FREE, ~0u, 0) < 0)
    for (int fd = H_FIRST_FREE; fd < 65536; fd++) close(fd);
  for (int fd = 3; fd < H_FIRST_FREE; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  for (;;) {
    unsigned char buf[FIFO_RESULT_SIZE];
    struct fifo_request rq;
    struct fifo_result res;
    if (read_full(H_REQ, buf, FIFO_REQUEST_SIZE) < 0 || fifo_decode_request(buf, &rq) < 0) break;
    run_one(sp, &rq, &res);
    fifo_encode_result(buf, &res);
    if (write_full(H_REP, buf, FIFO_RESULT_SIZE) < 0) break;
  }
  sweep();
  _exit(0);
}

static int fail(char *err, size_t cap, const char *what) {
  int saved = errno;
  snprintf(err, cap, "%s: %s", what, strerror(saved));
  errno = saved;
  return -1;
}

int drv_plain_start(struct drv_plain *p, const struct drv_spawn *sp, char *err, size_t cap) {
  int req[2], rep[2];
  p->helper = 0;
  p->pidfd = p->req = p->rep = -1;
  p->seq = 0;
  if (pipe2(req, O_CLOEXEC) < 0) return fail(err, cap, "pipe2");
  if (pipe2(rep, O_CLOEXEC) < 0) {
    close(req[0]), close(req[1]);
    return fail(err, cap, "pipe2");
  }
  pid_t pid = fork();
  if (pid == 0) be_helper(sp, req[0], rep[1]);
  int saved = errno;
  close(req[0]);
  close(rep[1]);
  p->req = req[1];
  p->rep = rep[0];
  if (pid < 0) {
    errno = saved;
    drv_plain_stop(p);
    return fail(err, cap, "fork");
  }
  p->helper = pid;
  p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (p->pidfd < 0) {
    saved = errno;
    drv_plain_stop(p);
    errno = saved;
    return fail(err, cap, "pidfd_open");
  }
  return 0;
}

/* How long past the execution's own timeout the helper may take to answer. */
#define ANSWER_GRACE_MS 5000

int drv_plain_run(struct drv_plain *p, uint32_t timeout_ms, int cancel_fd, struct drv_captures *caps,
                  struct fifo_result *out, char *err, size_t cap) {
  unsigned char buf[FIFO_RESULT_SIZE];
  struct fifo_request rq = {.seq = ++p->seq, .timeout_ms = timeout_ms};
  fifo_encode_request(buf, &rq);
  if (write_full(p->req, buf, FIFO_REQUEST_SIZE) < 0) return fail(err, cap, "plain fork+exec helper: write");
  struct pollfd fds[3] = {{p->rep, POLLIN, 0}, {p->pidfd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
  uint64_t deadline = timeout_ms ? now_us() + (timeout_ms + ANSWER_GRACE_MS) * 1000ull : 0;
  for (;;) {
    uint64_t t = now_us();
    int left = !deadline ? -1 : t >= deadline ? 0 : (int)((deadline - t + 999) / 1000);
    int r = poll(fds, cancel_fd >= 0 ? 3 : 2, drv_captures_wait_ms(caps, left));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && (!deadline || now_us() < deadline)) {
      drv_captures_look(caps);
      continue;
    }
    if (r > 0 && fds[2].revents) {
      errno = EINTR;
      snprintf(err, cap, "interrupted");
      return -1;
    }
    if (r == 0) {
      errno = ETIMEDOUT;
      snprintf(err, cap, "plain fork+exec helper gave no result within %u ms", timeout_ms + ANSWER_GRACE_MS);
      return -1;
    }
    if (fds[0].revents & POLLIN) break;
    errno = EPIPE;
    snprintf(err, cap, "plain fork+exec helper died");
    return -1;
  }
  if (read_full(p->rep, buf, FIFO_RESULT_SIZE) < 0 || fifo_decode_result(buf, out) < 0 || out->seq != rq.seq) {
    errno = EPROTO;
    snprintf(err, cap, "plain fork+exec helper: malformed result");
    return -1;
  }
  return 0;
}

void drv_plain_stop(struct drv_plain *p) {
  /* With its request pipe closed, the helper kills what runs, reaps everything and exits. */
  if (p->req >= 0) close(p->req);
  if (p->rep >= 0) close(p->rep);
  if (p->helper > 0) {
    struct pollfd w = {p->pidfd, POLLIN, 0};
    if (p->pidfd >= 0) {
      while (poll(&w, 1, 5000) < 0 && errno == EINTR) {}
      /* Ours, unreaped: its pid is still its own. */
      if (!(w.revents & POLLIN)) kill(p->helper, SIGKILL);
    }
    while (waitpid(p->helper, NULL, 0) < 0 && errno == EINTR) {}
  }
  if (p->pidfd >= 0) close(p->pidfd);
  p->req = p->rep = p->pidfd = -1;
  p->helper = 0;
}
