/* --junit FILE: the JUnit XML that GitLab, Jenkins and GitHub's test reporters read. One testsuite, a
 * testcase per execution in input order; crashes, timeouts and --verify mismatches are failures (a
 * crash's or timeout's holds the target's stderr: a sanitizer's report), unreadable inputs and failed
 * forks or waits errors. Cases go to an unlinked temporary file as they come; FILE is written at the
 * end, when the totals are known, so an interrupted run still leaves a well-formed report. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
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

/* An attribute's value. */
static size_t xml(FILE *f, const char *s) { return cli_xml_text(f, s, strlen(s), 1); }

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

/* What a case's report had to change to stay XML, said in its <system-err>. */
struct notes {
  char text[8192];
  size_t len;
};

static void note(struct notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct notes *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (n->len < sizeof n->text) n->len += (size_t)vsnprintf(n->text + n->len, sizeof n->text - n->len, fmt, ap);
  va_end(ap);
  if (n->len >= sizeof n->text) n->len = sizeof n->text - 1;
}

static void open_case(const struct cli_opts *o, const char *input, unsigned long run, double secs, struct notes *n) {
  const char *base = strrchr(o->target[0], '/');
  fputs("    <testcase classname=\"forksrv.", cases);
  xml(cases, base ? base + 1 : o->target[0]);
  fputs("\" name=\"", cases);
  size_t bad = xml(cases, input ? input : "(empty input)");
  if (o->runs > 1) fprintf(cases, " #%lu", run);
  fprintf(cases, "\" time=\"%.6f\"", secs);
  if (bad) {
    note(n, "forksrv: the input's name holds %zu bytes that are not UTF-8 or not allowed in XML, shown as U+FFFD; its bytes in hex: ", bad);
    for (const unsigned char *p = (const unsigned char *)input; *p; p++) note(n, "%02x", *p);
    note(n, "\n");
  }
}

/* Ends a case whose start tag is still open: with its notes, if any. */
static void close_case(const struct notes *n, const char *body) {
  if (!body && !n->len) {
    fputs("/>\n", cases);
    return;
  }
  fputs(">\n", cases);
  if (body) fputs(body, cases);
  if (n->len) {
    fputs("      <system-err>", cases);
    cli_xml_text(cases, n->text, n->len, 0);
    fputs("</system-err>\n", cases);
  }
  fputs("    </testcase>\n", cases);
}

void cli_junit_case(const struct cli_opts *o, const char *input, unsigned long run, const struct drv_result *r,
                    const struct drv_result *plain, const char *output_diff, const char *stderr_text,
                    size_t stderr_len) {
  struct notes n = {.len = 0};
  tests++;
  open_case(o, input, run, (double)r->wall_us / 1e6, &n);
  char message[768];
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
    /* The sanitizer's summary, pids and addresses set aside: a reader groups failures by message. */
    char found[512];
    type = cli_signame(r->signal);
    if (stderr_text && cli_crash_key(stderr_text, stderr_len, found, sizeof found, 0))
      snprintf(message, sizeof message, "crashed: %s: %s", type, found);
    else
      snprintf(message, sizeof message, "crashed: %s", type);
  } else if (r->outcome == DRV_TIMED_OUT) {
    type = "timeout";
    snprintf(message, sizeof message, "timed out: no result within %u ms", o->timeout_ms);
  } else if (r->outcome == DRV_FORK_FAILED || r->outcome == DRV_WAIT_FAILED) {
    errors++;
    char *body = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&body, &len);
    if (m) {
      fprintf(m, "      <error type=\"%s\" message=\"", r->outcome == DRV_FORK_FAILED ? "fork" : "wait");
      xml(m, strerror(r->error));
      fputs("\"/>\n", m);
      fclose(m);
    }
    close_case(&n, body ? body : "");
    free(body);
    return;
  }
  if (!type) {
    close_case(&n, NULL);
    return;
  }
  failures++;
  char *body = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&body, &len);
  if (m) {
    fputs("      <failure type=\"", m);
    xml(m, type);
    fputs("\" message=\"", m);
    xml(m, message);
    fputs("\">", m);
    size_t bad = stderr_text ? cli_xml_text(m, stderr_text, stderr_len, 0) : 0;
    fputs("</failure>\n", m);
    fclose(m);
    if (r->stderr_cut)
      note(&n, "forksrv: %llu bytes were cut from the middle of the target's stderr (a capture keeps the first and the last MiB of an execution)\n",
           (unsigned long long)r->stderr_cut);
    if (bad) note(&n, "forksrv: the target's stderr held %zu bytes that are not UTF-8 or not allowed in XML, shown as U+FFFD\n", bad);
  }
  close_case(&n, body ? body : "");
  free(body);
}

void cli_junit_error(const struct cli_opts *o, const char *input, const char *why) {
  struct notes n = {.len = 0};
  tests++;
  errors++;
  open_case(o, input, 1, 0, &n);
  char *body = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&body, &len);
  if (m) {
    fputs("      <error type=\"input\" message=\"", m);
    xml(m, why);
    fputs("\"/>\n", m);
    fclose(m);
  }
  close_case(&n, body ? body : "");
  free(body);
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
