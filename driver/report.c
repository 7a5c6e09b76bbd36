/* What the CLI says about each execution: on stdout, a line per crash or timeout (every execution with
 * -v, none with -q) or one JSON object per execution with --json; on stderr, whatever the options,
 * what must not be missed (mismatches, failed forks and waits), and at the end the summary. Also the
 * small helpers the CLI's files share (cli_error, cli_config, cli_now_us). */
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
      .capture_stdout = o->verify || o->reset_auto,
      .capture_stderr = o->verify || o->crashes || o->junit || o->reset_auto,
      .start = o->start,
      .cancel_fd = cancel_fd,
      .lazy_binding = o->lazy_binding,
      .reset_snapshot = o->reset_snapshot,
  };
  return cfg;
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
  cli_json_text(stdout, s, strlen(s));
  putchar('"');
}

/* "input":NAME, and when the name is not UTF-8 (shown with U+FFFD there), its bytes in hex, so that a
 * reader can still find the file. */
static void json_input(const char *input) {
  fputs("{\"input\":", stdout);
  json_string(input);
  if (input && !cli_utf8_valid(input, strlen(input))) {
    fputs(",\"input_hex\":\"", stdout);
    for (const unsigned char *p = (const unsigned char *)input; *p; p++) printf("%02x", *p);
    putchar('"');
  }
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
  json_input(input);
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
  if (r->stdout_cut) printf(",\"stdout_cut\":%llu", (unsigned long long)r->stdout_cut);
  if (r->stderr_cut) printf(",\"stderr_cut\":%llu", (unsigned long long)r->stderr_cut);
  printf(",\"wall_us\":%llu,\"maxrss_kb\":%llu}\n", (unsigned long long)r->wall_us, (unsigned long long)r->maxrss_kb);
}

/* An input's name for a line of text: control characters as C escapes (\n, \x1b), so that no name
 * can end a line early, forge another or reach the terminal. Into buf, or name itself if it has none. */
static const char *shown(const char *name, char *buf, size_t cap) {
  const unsigned char *p = (const unsigned char *)name;
  while (*p && *p >= 0x20 && *p != 0x7f) p++;
  if (!*p) return name;
  size_t n = 0;
  for (p = (const unsigned char *)name; *p && n + 5 < cap; p++) {
    if (*p >= 0x20 && *p != 0x7f) buf[n++] = (char)*p;
    else if (*p == '\n') buf[n++] = '\\', buf[n++] = 'n';
    else if (*p == '\t') buf[n++] = '\\', buf[n++] = 't';
    else if (*p == '\r') buf[n++] = '\\', buf[n++] = 'r';
    else n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", *p);
  }
  buf[n] = '\0';
  return buf;
}

static void count_child(struct cli_tally *t, int pid) {
  if (pid <= 0) return;
  for (unsigned i = 0; i < t->nrecent && i < CLI_RECENT_PIDS; i++)
    if (t->recent[i] == pid) return;
  t->recent[t->nrecent++ % CLI_RECENT_PIDS] = pid;
  t->children++;
}

void cli_report(const struct cli_opts *o, struct cli_tally *t, const char *input, unsigned long run,
                const struct drv_result *r, const struct drv_result *plain, const char *output_diff) {
  char safe[4 * 4096 + 8];
  const char *name = input ? shown(input, safe, sizeof safe) : "-";
  t->execs++;
  count_child(t, r->pid);
  if (plain) t->verified++;
  if (plain && !cli_same_outcome(r, plain)) {
    /* Loud whatever the options: the fork server changed what the target does. */
    char served_text[64], plain_text[64];
    t->mismatches++;
    cli_error("MISMATCH %s: %s under the fork server, %s by plain fork+exec", name,
              cli_outcome_text(r, served_text, sizeof served_text), cli_outcome_text(plain, plain_text, sizeof plain_text));
  } else if (plain && output_diff) {
    t->mismatches++;
    cli_error("MISMATCH %s: %s", name, output_diff);
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
  char safe[4 * 4096 + 8];
  t->errors++;
  cli_error("read %s: %s", shown(input, safe, sizeof safe), why);
  if (o->json) {
    json_input(input);
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

/* The last cap bytes of the target's stderr from this execution, for a report, into *len bytes
 * (NULs included); NULL if empty. A cut tail starts with a line saying so, and at a character. */
char *cli_stderr_tail(int stderr_fd, size_t cap, size_t *len) {
  off_t size = lseek(stderr_fd, 0, SEEK_END);
  if (size <= 0) return NULL;
  off_t from = size > (off_t)cap ? size - (off_t)cap : 0;
  char head[96] = "";
  if (from) snprintf(head, sizeof head, "[forksrv: the last %zu of %lld bytes]\n", cap, (long long)size);
  size_t hlen = strlen(head);
  char *buf = malloc(hlen + (size_t)(size - from) + 1);
  if (!buf) return NULL;
  ssize_t n = pread(stderr_fd, buf + hlen, (size_t)(size - from), from);
  if (n <= 0) {
    free(buf);
    return NULL;
  }
  size_t skip = 0;
  while (from && skip < 3 && skip < (size_t)n && ((unsigned char)buf[hlen + skip] & 0xc0) == 0x80) skip++;
  memmove(buf + hlen, buf + hlen + skip, (size_t)n - skip);
  memcpy(buf, head, hlen);
  *len = hlen + (size_t)n - skip;
  buf[*len] = '\0';
  return buf;
}

int cli_copy_capture(int capture_fd, int to_fd, const char *to_name) {
  char buf[65536];
  ssize_t n;
  if (capture_fd < 0) return 0;
  fflush(stdout);
  for (off_t at = 0; at < DRV_CAPTURE_MAX && (n = pread(capture_fd, buf, sizeof buf, at)) > 0; at += n)
    if (write_all(to_fd, buf, (size_t)n) < 0) {
      /* EPIPE: the reader went; what follows would go nowhere either. */
      static int said;
      if (!said++) cli_error("write %s: %s", to_name, strerror(errno));
      return -1;
    }
  return 0;
}

void cli_summary(const struct cli_opts *o, const struct cli_tally *t) {
  if (o->quiet) return;
  double secs = (double)(drv_now_us() - t->started_us) / 1e6;
  fprintf(stderr, "forksrv: %lu execution%s in %.3f s (%.0f execs/s%s): %lu exited (%lu non-zero), %lu crashed, %lu timed out",
          t->execs, t->execs == 1 ? "" : "s", secs, secs > 0 ? (double)t->execs / secs : 0.0, o->no_server ? ", no server" : "", t->exited,
          t->nonzero, t->crashed, t->timed_out);
  if (t->fork_failed) fprintf(stderr, ", %lu fork failures", t->fork_failed);
  if (o->verify) fprintf(stderr, ", %lu verified, %lu mismatches", t->verified, t->mismatches);
  if (t->errors) fprintf(stderr, ", %lu errors", t->errors);
  fputc('\n', stderr);
  if (!o->verbose || o->no_server || !t->children) return;
  /* Speeds are like for like only where the lifecycles are: say which one ran. */
  /* What ran, from the children: snapshot reset asked for may have turned to fork. */
  if (o->reset_snapshot && t->children < t->execs)
    fprintf(stderr, "forksrv: lifecycle: snapshot reset: %lu inputs in %lu %s, put back to the fork point after each\n",
            t->execs, t->children, t->children == 1 ? "child" : "children");
  else if (t->children < t->execs)
    fprintf(stderr, "forksrv: lifecycle: persistent: %lu inputs in %lu %s (forksrv_loop(), or the harness main's "
            "1000 per child), not put back between them\n", t->execs, t->children, t->children == 1 ? "child" : "children");
  else
    fprintf(stderr, "forksrv: lifecycle: fork: a fresh child for each input%s\n",
            o->reset_snapshot && t->execs > 1 ? " (snapshot reset kept none)" : "");
}
