/* What the CLI says about each execution: a line per crash or timeout (every execution with -v), or
 * one JSON object per execution with --json; the inputs that crash or time out, with the target's
 * stderr, copied into --crashes DIR; and the summary on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("forksrv: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

uint64_t cli_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *signame(int sig) {
  static char buf[16];
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev)
    snprintf(buf, sizeof buf, "SIG%s", abbrev);
  else
    snprintf(buf, sizeof buf, "%d", sig);
  return buf;
}

static void json_string(const char *s) {
  if (!s) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static const char *outcome_name(enum drv_outcome o) {
  switch (o) {
  case DRV_EXITED: return "exited";
  case DRV_SIGNALLED: return "crashed";
  case DRV_TIMED_OUT: return "timeout";
  case DRV_FORK_FAILED: return "fork_failed";
  }
  return "unknown";
}

static void json_result(const char *input, unsigned long run, const struct drv_result *r) {
  fputs("{\"input\":", stdout);
  json_string(input);
  printf(",\"run\":%lu,\"pid\":%d,\"result\":\"%s\"", run, r->pid, outcome_name(r->outcome));
  if (r->outcome == DRV_EXITED) printf(",\"exit_code\":%d", r->exit_code);
  if (r->outcome == DRV_SIGNALLED || r->outcome == DRV_TIMED_OUT) printf(",\"signal\":\"%s\"", signame(r->signal));
  if (r->outcome == DRV_FORK_FAILED) {
    fputs(",\"error\":", stdout);
    json_string(strerror(r->error));
  }
  printf(",\"wall_us\":%llu,\"maxrss_kb\":%llu}\n", (unsigned long long)r->wall_us, (unsigned long long)r->maxrss_kb);
}

void cli_report(const struct cli_opts *o, struct cli_tally *t, const char *input, unsigned long run,
                const struct drv_result *r) {
  t->execs++;
  switch (r->outcome) {
  case DRV_EXITED:
    t->exited++;
    t->nonzero += r->exit_code != 0;
    break;
  case DRV_SIGNALLED: t->crashed++; break;
  case DRV_TIMED_OUT: t->timed_out++; break;
  case DRV_FORK_FAILED: t->fork_failed++; break;
  }
  const char *name = input ? input : "-";
  if (o->json) {
    json_result(input, run, r);
  } else if (r->outcome == DRV_SIGNALLED) {
    if (!o->quiet) printf("crash %s: %s\n", name, signame(r->signal));
  } else if (r->outcome == DRV_TIMED_OUT) {
    if (!o->quiet) printf("timeout %s: no result within %u ms\n", name, o->timeout_ms);
  } else if (r->outcome == DRV_FORK_FAILED) {
    cli_error("fork for %s: %s", name, strerror(r->error));
  } else if (o->verbose) {
    printf("exit %s: %d (%llu us)\n", name, r->exit_code, (unsigned long long)r->wall_us);
  }
}

void cli_report_error(const struct cli_opts *o, struct cli_tally *t, const char *input, const char *why) {
  t->errors++;
  cli_error("read %s: %s", input, why);
  if (o->json) {
    fputs("{\"input\":", stdout);
    json_string(input);
    fputs(",\"result\":\"error\",\"error\":", stdout);
    json_string(why);
    fputs("}\n", stdout);
  }
}

static int write_all(int fd, const void *buf, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, (const char *)buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static int save(const char *path, const void *data, size_t len, int from_fd) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int r = 0;
  if (from_fd < 0) {
    r = write_all(fd, data, len);
  } else {
    char buf[65536];
    ssize_t n;
    for (off_t at = 0; (n = pread(from_fd, buf, sizeof buf, at)) > 0 && r == 0; at += n) r = write_all(fd, buf, (size_t)n);
  }
  int saved = errno;
  if (close(fd) < 0 && r == 0) r = -1;
  else errno = saved;
  return r;
}

/* DIR/<input's name> and DIR/<input's name>.stderr. Returns -1 after saying why. */
int cli_save_crash(const struct cli_opts *o, const char *input, const void *data, size_t len, int stderr_fd) {
  if (mkdir(o->crashes, 0755) < 0 && errno != EEXIST) {
    cli_error("mkdir %s: %s", o->crashes, strerror(errno));
    return -1;
  }
  const char *base = input ? strrchr(input, '/') : NULL;
  base = base ? base + 1 : input ? input : "empty-input";
  char *path = NULL, *err_path = NULL;
  int r = -1;
  if (asprintf(&path, "%s/%s", o->crashes, base) < 0 || asprintf(&err_path, "%s.stderr", path) < 0) {
    cli_error("asprintf: %s", strerror(errno));
  } else if (save(path, data, len, -1) < 0) {
    cli_error("write %s: %s", path, strerror(errno));
  } else if (save(err_path, NULL, 0, stderr_fd) < 0) {
    cli_error("write %s: %s", err_path, strerror(errno));
  } else {
    r = 0;
  }
  free(path);
  free(err_path);
  return r;
}

/* --show-output: the target's stderr, captured for this execution, passed on to ours. */
void cli_copy_stderr(int stderr_fd) {
  char buf[65536];
  ssize_t n;
  fflush(stdout);
  for (off_t at = 0; (n = pread(stderr_fd, buf, sizeof buf, at)) > 0; at += n)
    if (write_all(2, buf, (size_t)n) < 0) break;
}

void cli_summary(const struct cli_opts *o, const struct cli_tally *t) {
  if (o->quiet) return;
  double secs = (double)(cli_now_us() - t->started_us) / 1e6;
  fprintf(stderr, "forksrv: %lu executions in %.3f s (%.0f execs/s%s): %lu exited (%lu non-zero), %lu crashed, %lu timed out",
          t->execs, secs, secs > 0 ? (double)t->execs / secs : 0.0, o->no_server ? ", no server" : "", t->exited,
          t->nonzero, t->crashed, t->timed_out);
  if (t->fork_failed) fprintf(stderr, ", %lu fork failures", t->fork_failed);
  if (t->errors) fprintf(stderr, ", %lu errors", t->errors);
  fputc('\n', stderr);
}
