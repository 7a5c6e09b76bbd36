/* --junit FILE: the JUnit XML that GitLab, Jenkins and GitHub's test reporters read. One testsuite,
 * one testcase per execution in input order, crashes, timeouts and --verify mismatches as failures
 * (a crash's carries the target's stderr: a sanitizer's report), unreadable inputs and failed forks
 * as errors. Cases go to an unlinked
 * temporary file as they come; FILE is written once at the end, when its header's totals are known,
 * so an interrupted run still leaves a well-formed report of what ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static FILE *cases;
static unsigned long tests, failures, errors;
static time_t started;

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (!len || len > n || (len == 2 && p[0] < 0xc2)) return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  return len;
}

/* Text as XML 1.0 allows it: markup escaped, and what no XML may hold (control characters, bytes
 * that are not UTF-8, as a crashing target may well print) replaced by '?'. */
static void xml(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  while (n) {
    size_t len = utf8_len(p, n);
    if (len > 1) {
      fwrite(p, 1, len, f);
    } else if (*p == '&') {
      fputs("&amp;", f);
    } else if (*p == '<') {
      fputs("&lt;", f);
    } else if (*p == '>') {
      fputs("&gt;", f);
    } else if (*p == '"') {
      fputs("&quot;", f);
    } else if (len == 1 && (*p >= 0x20 || *p == '\n' || *p == '\t')) {
      fputc(*p, f);
    } else {
      fputc('?', f);
      len = 1;
    }
    p += len ? len : 1;
    n -= len ? len : 1;
  }
}

/* tmpfile() would do, but its fd is not close-on-exec, and every target would inherit it (and could
 * write into the report). */
int cli_junit_open(void) {
  started = time(NULL);
  const char *dir = getenv("TMPDIR");
  char *path = NULL;
  if (asprintf(&path, "%s/forksrv-junit.XXXXXX", dir && *dir ? dir : "/tmp") < 0) return -1;
  int fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0) unlink(path);
  free(path);
  if (fd >= 0 && !(cases = fdopen(fd, "w+"))) close(fd);
  return cases ? 0 : -1;
}

static void open_case(const struct cli_opts *o, const char *input, unsigned long run, double secs) {
  const char *base = strrchr(o->target[0], '/');
  fputs("    <testcase classname=\"forksrv.", cases);
  xml(cases, base ? base + 1 : o->target[0]);
  fputs("\" name=\"", cases);
  xml(cases, input ? input : "(empty input)");
  if (o->runs > 1) fprintf(cases, " #%lu", run);
  fprintf(cases, "\" time=\"%.6f\"", secs);
}

void cli_junit_case(const struct cli_opts *o, const char *input, unsigned long run, const struct drv_result *r,
                    const struct drv_result *plain, const char *output_diff, const char *stderr_text) {
  tests++;
  open_case(o, input, run, (double)r->wall_us / 1e6);
  char message[192];
  const char *type = NULL;
  if (plain && !cli_same_outcome(r, plain)) {
    char served_text[64], plain_text[64];
    type = "mismatch";
    snprintf(message, sizeof message, "%s under the fork server, %s by plain fork+exec",
             cli_outcome_text(r, served_text, sizeof served_text), cli_outcome_text(plain, plain_text, sizeof plain_text));
  } else if (plain && output_diff) {
    type = "mismatch";
    snprintf(message, sizeof message, "%s", output_diff);
  } else if (r->outcome == DRV_SIGNALLED) {
    type = cli_signame(r->signal);
    snprintf(message, sizeof message, "crashed: %s", type);
  } else if (r->outcome == DRV_TIMED_OUT) {
    type = "timeout";
    snprintf(message, sizeof message, "timed out: no result within %u ms", o->timeout_ms);
  } else if (r->outcome == DRV_FORK_FAILED || r->outcome == DRV_WAIT_FAILED) {
    errors++;
    fprintf(cases, ">\n      <error type=\"%s\" message=\"", r->outcome == DRV_FORK_FAILED ? "fork" : "wait");
    xml(cases, strerror(r->error));
    fputs("\"/>\n    </testcase>\n", cases);
    return;
  }
  if (!type) {
    fputs("/>\n", cases);
    return;
  }
  failures++;
  fputs(">\n      <failure type=\"", cases);
  xml(cases, type);
  fputs("\" message=\"", cases);
  xml(cases, message);
  fputs("\">", cases);
  if (stderr_text) xml(cases, stderr_text);
  fputs("</failure>\n    </testcase>\n", cases);
}

void cli_junit_error(const struct cli_opts *o, const char *input, const char *why) {
  tests++;
  errors++;
  open_case(o, input, 1, 0);
  fputs(">\n      <error type=\"input\" message=\"", cases);
  xml(cases, why);
  fputs("\"/>\n    </testcase>\n", cases);
}

int cli_junit_write(const struct cli_opts *o, double secs) {
  FILE *f = fopen(o->junit, "we");
  if (!f) {
    cli_error("write %s: %s", o->junit, strerror(errno));
    return -1;
  }
  char stamp[32], host[256] = "localhost";
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime(&started));
  gethostname(host, sizeof host - 1);
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  fprintf(f, "<testsuites name=\"forksrv\" tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" time=\"%.3f\">\n", tests,
          failures, errors, secs);
  fputs("  <testsuite name=\"", f);
  xml(f, o->target[0]);
  fprintf(f, "\" tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" skipped=\"0\" time=\"%.3f\" timestamp=\"%s\" hostname=\"",
          tests, failures, errors, secs, stamp);
  xml(f, host);
  fputs("\">\n", f);
  if (fflush(cases) != 0 || ferror(cases)) {
    cli_error("write %s: its cases, kept in TMPDIR until the end: %s", o->junit, strerror(errno ? errno : EIO));
    fclose(f);
    return -1;
  }
  rewind(cases);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, cases)) > 0) fwrite(buf, 1, n, f);
  fputs("  </testsuite>\n</testsuites>\n", f);
  fclose(cases);
  cases = NULL;
  if (ferror(f) | (fclose(f) != 0)) {
    cli_error("write %s: %s", o->junit, strerror(errno));
    return -1;
  }
  return 0;
}
