/* What the CLI says about each execution: a line per crash or timeout (every execution with -v), or
 * one JSON object per execution with --json; the inputs that crash or time out, with the target's
 * stderr, copied into --crashes DIR; and the summary on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

struct drv_config cli_config(const struct cli_opts *o, int cancel_fd) {
  struct drv_config cfg = {
      .argv = o->target,
      .preload = o->preload,
      .timeout_ms = o->timeout_ms,
      .startup_timeout_ms = o->startup_timeout_ms,
      .no_server = o->no_server,
      .show_output = o->show_output,
      /* --verify compares both streams; --crashes and --junit keep stderr. */
      .capture_stdout = o->verify != 0,
      .capture_stderr = o->verify || o->crashes || o->junit,
      .start = o->start,
      .cancel_fd = cancel_fd,
      .lazy_binding = o->lazy_binding,
  };
  return cfg;
}

uint64_t cli_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *cli_signame(int sig) {
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
  case DRV_WAIT_FAILED: return "error";
  }
  return "unknown";
}

const char *cli_outcome_text(const struct drv_result *r, char *buf, size_t cap) {
  switch (r->outcome) {
  case DRV_EXITED: snprintf(buf, cap, "exited %d", r->exit_code); break;
  case DRV_SIGNALLED: snprintf(buf, cap, "crashed (%s)", cli_signame(r->signal)); break;
  case DRV_TIMED_OUT: snprintf(buf, cap, "timed out"); break;
  case DRV_FORK_FAILED: snprintf(buf, cap, "fork failed (%s)", strerror(r->error)); break;
  case DRV_WAIT_FAILED: snprintf(buf, cap, "wait failed (%s)", strerror(r->error)); break;
  }
  return buf;
}

int cli_same_outcome(const struct drv_result *a, const struct drv_result *b) {
  return a->outcome == b->outcome && a->exit_code == b->exit_code && a->signal == b->signal;
}

static void json_result(const char *input, unsigned long run, const struct drv_result *r, const struct drv_result *plain,
                        const char *output_diff) {
  fputs("{\"input\":", stdout);
  json_string(input);
  printf(",\"run\":%lu,\"pid\":%d,\"result\":\"%s\"", run, r->pid, outcome_name(r->outcome));
  if (r->outcome == DRV_EXITED) printf(",\"exit_code\":%d", r->exit_code);
  if (r->outcome == DRV_SIGNALLED || r->outcome == DRV_TIMED_OUT) printf(",\"signal\":\"%s\"", cli_signame(r->signal));
  if (r->outcome == DRV_FORK_FAILED) {
    fputs(",\"error\":", stdout);
    json_string(strerror(r->error));
  }
  if (r->outcome == DRV_WAIT_FAILED) {
    char why[128];
    snprintf(why, sizeof why, "wait for pid %d: %s", r->pid, strerror(r->error));
    fputs(",\"error\":", stdout);
    json_string(why);
  }
  if (plain) {
    char text[64];
    printf(",\"verified\":\"%s\"", cli_same_outcome(r, plain) && !output_diff ? "same" : "different");
    if (!cli_same_outcome(r, plain)) printf(",\"plain\":\"%s\"", cli_outcome_text(plain, text, sizeof text));
    if (output_diff) {
      fputs(",\"output\":", stdout);
      json_string(output_diff);
    }
  }
  printf(",\"wall_us\":%llu,\"maxrss_kb\":%llu}\n", (unsigned long long)r->wall_us, (unsigned long long)r->maxrss_kb);
}

void cli_report(const struct cli_opts *o, struct cli_tally *t, const char *input, unsigned long run,
                const struct drv_result *r, const struct drv_result *plain, const char *output_diff) {
  t->execs++;
  if (plain) t->verified++;
  if (plain && !cli_same_outcome(r, plain)) {
    /* Loud whatever the options: the fork server changed what the target does. */
    char served_text[64], plain_text[64];
    t->mismatches++;
    cli_error("MISMATCH %s: %s under the fork server, %s by plain fork+exec", input ? input : "-",
              cli_outcome_text(r, served_text, sizeof served_text), cli_outcome_text(plain, plain_text, sizeof plain_text));
  } else if (plain && output_diff) {
    t->mismatches++;
    cli_error("MISMATCH %s: %s", input ? input : "-", output_diff);
  }
  switch (r->outcome) {
  case DRV_EXITED:
    t->exited++;
    t->nonzero += r->exit_code != 0;
    break;
  case DRV_SIGNALLED: t->crashed++; break;
  case DRV_TIMED_OUT: t->timed_out++; break;
  case DRV_FORK_FAILED: t->fork_failed++; break;
  case DRV_WAIT_FAILED: t->errors++; break;
  }
  const char *name = input ? input : "-";
  /* Said whatever the options: the run has an execution whose outcome nobody knows. */
  if (r->outcome == DRV_WAIT_FAILED)
    cli_error("wait for the child of %s (pid %d): %s%s", name, r->pid, strerror(r->error),
              r->error == ECHILD ? " (the target's own code reaped it, or made the kernel do so)" : "");
  if (o->json) {
    json_result(input, run, r, plain, output_diff);
  } else if (r->outcome == DRV_SIGNALLED) {
    if (!o->quiet) printf("crash %s: %s\n", name, cli_signame(r->signal));
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

/* Single quotes for a shell, with any single quote inside spelt '\'' */
static void shell_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++)
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  fputc('\'', f);
}

/* One line that runs the target on the saved input without forksrv, as the driver ran it: same
 * directory, same ASAN_OPTIONS, the input on stdin or in place of '@@'. */
static int write_repro(const struct cli_opts *o, const char *path, const char *saved) {
  char cwd[PATH_MAX], abs_saved[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd) || !realpath(saved, abs_saved)) return -1;
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  fputs("cd ", f);
  shell_quote(f, cwd);
  fputs(" && ASAN_OPTIONS=", f);
  const char *asan = getenv("ASAN_OPTIONS");
  char *opts = NULL;
  if (asprintf(&opts, "verify_asan_link_order=0:abort_on_error=1%s%s", asan && *asan ? ":" : "", asan ? asan : "") < 0) {
    fclose(f);
    return -1;
  }
  shell_quote(f, opts);
  free(opts);
  int file_mode = 0;
  for (char **a = o->target; *a; a++) {
    fputc(' ', f);
    const char *at = strstr(*a, "@@");
    if (!at) {
      shell_quote(f, *a);
      continue;
    }
    file_mode = 1;
    char *arg = NULL;
    if (asprintf(&arg, "%.*s%s%s", (int)(at - *a), *a, abs_saved, at + 2) < 0) {
      fclose(f);
      return -1;
    }
    shell_quote(f, arg);
    free(arg);
  }
  fputs(" < ", f);
  shell_quote(f, file_mode ? "/dev/null" : abs_saved);
  fputc('\n', f);
  return fclose(f);
}

/* A name in DIR not yet taken in this run: the input's own, or NAME-2, NAME-3... when inputs of the
 * same name from different directories crash. */
static char *crash_path(const char *dir, const char *base) {
  static char **taken;
  static size_t ntaken;
  char *path = NULL;
  for (unsigned k = 1;; k++) {
    if ((k == 1 ? asprintf(&path, "%s/%s", dir, base) : asprintf(&path, "%s/%s-%u", dir, base, k)) < 0) return NULL;
    size_t i = 0;
    while (i < ntaken && strcmp(taken[i], path)) i++;
    if (i == ntaken) break;
    free(path);
  }
  char **more = realloc(taken, (ntaken + 1) * sizeof *taken);
  if (!more) {
    free(path);
    return NULL;
  }
  taken = more;
  taken[ntaken++] = path;
  return strdup(path);
}

/* DIR/NAME (the input), DIR/NAME.stderr and DIR/NAME.repro. Returns -1 after saying why. */
int cli_save_crash(const struct cli_opts *o, const char *input, const void *data, size_t len, int stderr_fd) {
  if (mkdir(o->crashes, 0755) < 0 && errno != EEXIST) {
    cli_error("mkdir %s: %s", o->crashes, strerror(errno));
    return -1;
  }
  const char *base = input ? strrchr(input, '/') : NULL;
  base = base ? base + 1 : input ? input : "empty-input";
  char *path = crash_path(o->crashes, base), *err_path = NULL, *repro_path = NULL;
  int r = -1;
  if (!path || asprintf(&err_path, "%s.stderr", path) < 0 || asprintf(&repro_path, "%s.repro", path) < 0) {
    cli_error("asprintf: %s", strerror(errno));
  } else if (save(path, data, len, -1) < 0) {
    cli_error("write %s: %s", path, strerror(errno));
  } else if (save(err_path, NULL, 0, stderr_fd) < 0) {
    cli_error("write %s: %s", err_path, strerror(errno));
  } else if (write_repro(o, repro_path, path) < 0) {
    cli_error("write %s: %s", repro_path, strerror(errno));
  } else {
    r = 0;
  }
  free(path);
  free(err_path);
  free(repro_path);
  return r;
}

/* The last cap bytes of the target's stderr from this execution, for a report; NULL if empty. */
char *cli_stderr_tail(int stderr_fd, size_t cap) {
  off_t size = lseek(stderr_fd, 0, SEEK_END);
  if (size <= 0) return NULL;
  off_t from = size > (off_t)cap ? size - (off_t)cap : 0;
  char *buf = malloc((size_t)(size - from) + 1);
  if (!buf) return NULL;
  ssize_t n = pread(stderr_fd, buf, (size_t)(size - from), from);
  if (n <= 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

void cli_copy_capture(int capture_fd, int to_fd) {
  char buf[65536];
  ssize_t n;
  if (capture_fd < 0) return;
  fflush(stdout);
  for (off_t at = 0; (n = pread(capture_fd, buf, sizeof buf, at)) > 0; at += n)
    if (write_all(to_fd, buf, (size_t)n) < 0) break;
}

void cli_summary(const struct cli_opts *o, const struct cli_tally *t) {
  if (o->quiet) return;
  double secs = (double)(cli_now_us() - t->started_us) / 1e6;
  fprintf(stderr, "forksrv: %lu executions in %.3f s (%.0f execs/s%s): %lu exited (%lu non-zero), %lu crashed, %lu timed out",
          t->execs, secs, secs > 0 ? (double)t->execs / secs : 0.0, o->no_server ? ", no server" : "", t->exited,
          t->nonzero, t->crashed, t->timed_out);
  if (t->fork_failed) fprintf(stderr, ", %lu fork failures", t->fork_failed);
  if (o->verify) fprintf(stderr, ", %lu verified, %lu mismatches", t->verified, t->mismatches);
  if (t->errors) fprintf(stderr, ", %lu errors", t->errors);
  fputc('\n', stderr);
}
