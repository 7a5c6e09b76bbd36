/* forksrv check -i CORPUS: every start point and reset mode on a sample of the user's own inputs,
 * each held to the direct run (plain fork+exec of the same input file: outcome, stdout and stderr,
 * compared as --verify compares) over the sample twice, so that state one input leaves for another
 * shows, then timed; the fastest whose every run matched is printed as the command line to use. A
 * mode is trusted on what it did with these inputs, not on what it should do. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define SAMPLE_MAX 16
#define TIMED_US 300000 /* each mode timed over about this long, in whole rounds of the sample */
#define TIMED_ROUNDS 20

struct sample {
  const char *path;
  char *buf, *out, *err; /* the input; its direct run's stdout and stderr, in the mode's own server */
  size_t len, nout, nerr;
  unsigned mode;
  struct timespec mtime;
  struct drv_result plain;
};

/* The whole of a capture, from offset 0. */
static char *capture(int fd, size_t *n) {
  size_t cap = 4096;
  char *b = malloc(cap);
  *n = 0;
  if (fd < 0 || !b) return b;
  for (ssize_t r; (r = pread(fd, b + *n, cap - *n, (off_t)*n)) > 0;) {
    *n += (size_t)r;
    if (*n == cap) {
      char *p = realloc(b, cap *= 2);
      if (!p) break;
      b = p;
    }
  }
  return b;
}

static int run(struct drv *d, struct sample *s, struct drv_result *r) {
  drv_input_attrs(d, s->mode, s->mtime);
  return drv_run(d, s->buf, s->len, r);
}

/* Whether the run just made of s matched its plain run; if not, why in why. */
static int matches(struct drv *d, const struct sample *s, const struct drv_result *r, char *why, size_t cap) {
  char a[64], b[64];
  if (!cli_same_outcome(r, &s->plain)) {
    snprintf(why, cap, "%s: %s, run directly %s", s->path, cli_outcome_text(r, a, sizeof a),
             cli_outcome_text(&s->plain, b, sizeof b));
    return 0;
  }
  size_t nout, nerr;
  char *out = capture(drv_stdout_fd(d), &nout), *err = capture(drv_stderr_fd(d), &nerr);
  const char *stream = out && cli_output_differs(out, nout, s->out, s->nout) != (size_t)-1   ? "stdout"
                       : err && cli_output_differs(err, nerr, s->err, s->nerr) != (size_t)-1 ? "stderr"
                                                                                            : NULL;
  free(out);
  free(err);
  if (stream) snprintf(why, cap, "%s: its %s differs from the direct run's", s->path, stream);
  return !stream;
}

struct mode {
  enum drv_start start;
  int snapshot;
  char where[32];  /* where the server started, as it said */
  int trusted;
  double us;
};

static const char *start_name(enum drv_start s) { return s == DRV_START_MAIN ? "main" : s == DRV_START_INPUT ? "input" : "early"; }

/* One mode over the sample: started, held to the plain runs, timed; not again where it started where
 * one before did (a later start point falls back to an earlier one, a harness main starts where it
 * says). */
static void measure(struct drv_config cfg, struct sample *s, size_t n, struct mode *m, const struct mode *before,
                    int nbefore) {
  char err[1024], why[600] = "";
  cfg.start = m->start;
  cfg.reset_snapshot = m->snapshot;
  printf("mode          --start %-5s --reset %-8s ", start_name(m->start), m->snapshot ? "snapshot" : "fork");
  struct drv *d = drv_start(&cfg, err, sizeof err);
  if (!d) {
    printf("not started: %s\n", err);
    return;
  }
  snprintf(m->where, sizeof m->where, "%s", drv_start_point(d));
  for (int i = 0; i < nbefore; i++)
    if (before[i].snapshot == m->snapshot && !strcmp(before[i].where, m->where)) {
      printf("started at %s: as --start %s above\n", m->where, start_name(before[i].start));
      drv_stop(d);
      return;
    }
  /* The direct runs, by plain fork+exec of the same input file (its path may be in the output). */
  for (size_t i = 0; i < n; i++) {
    drv_input_attrs(d, s[i].mode, s[i].mtime);
    if (drv_run_plain(d, s[i].buf, s[i].len, &s[i].plain) < 0) {
      printf("failed: %s\n", drv_error(d));
      drv_stop(d);
      return;
    }
    free(s[i].out);
    free(s[i].err);
    s[i].out = capture(drv_stdout_fd(d), &s[i].nout);
    s[i].err = capture(drv_stderr_fd(d), &s[i].nerr);
  }
  size_t same = 0;
  struct drv_result r = {0};
  int last = 0, persistent = 0;
  for (size_t k = 0; k < 2 * n; k++, last = r.pid) {
    size_t i = k % n;
    if (run(d, &s[i], &r) < 0) {
      printf("failed: %s\n", drv_error(d));
      drv_stop(d);
      return;
    }
    persistent |= !m->snapshot && r.pid == last;
    char this[512];
    if (matches(d, &s[i], &r, this, sizeof this)) same += k < n;
    else if (!*why) snprintf(why, sizeof why, "%s%s", this, k >= n ? ", run again" : "");
  }
  /* Snapshot reset that could not be had here is the fork path: said, not timed twice. */
  if (m->snapshot && strcmp(drv_reset(d), "snapshot")) {
    printf("fell back to fork: %s\n", drv_reset(d));
    drv_stop(d);
    return;
  }
  uint64_t t0 = drv_now_us(), runs = 0;
  for (unsigned round = 0; round < TIMED_ROUNDS && drv_now_us() - t0 < TIMED_US; round++)
    for (size_t i = 0; i < n; i++, runs++)
      if (run(d, &s[i], &r) < 0) break;
  m->us = runs ? (double)(drv_now_us() - t0) / (double)runs : 0;
  m->trusted = same == n && !*why;
  drv_stop(d);
  printf("started at %s%s, %zu of %zu as run directly%s, %.0f us per input\n", m->where,
         persistent ? " (persistent)" : "", same, n, same == n && *why ? " but not all when run again" : "", m->us);
  if (!m->trusted) printf("              first difference: %s\n", why);
}

/* A word of the command line as a shell reads it back. */
static void word(const char *w) {
  if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == strlen(w)) {
    printf(" %s", w);
    return;
  }
  printf(" '");
  for (; *w; w++) *w == '\'' ? printf("'\\''") : putchar(*w);
  putchar('\'');
}

int cli_check_modes(const struct cli_opts *o) {
  struct cli_inputs in = {0};
  for (size_t i = 0; i < o->ninputs; i++)
    if (cli_collect(&in, o->inputs[i]) < 0) return 2;
  if (!in.n) {
    printf("modes         no input files in %s\n", o->inputs[0]);
    return 2;
  }
  /* A sample spread over the corpus, as it sorts. */
  size_t n = in.n < SAMPLE_MAX ? in.n : SAMPLE_MAX;
  struct sample *s = calloc(n, sizeof *s);
  struct drv_config cfg = cli_config(o, -1);
  char name[256];
  int rc = 2;
  cfg.capture_stdout = cfg.capture_stderr = 1;
  cfg.show_output = 0;
  cli_input_name(o, in.paths[0], name, sizeof name);
  cfg.input_name = name;
  if (!s) {
    printf("modes         %s\n", strerror(ENOMEM));
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    s[i].path = in.paths[i * in.n / n];
    int e = cli_read_input(s[i].path, &s[i].buf, &s[i].len, &s[i].mode, &s[i].mtime);
    if (e) {
      printf("modes         read %s: %s\n", s[i].path, strerror(e));
      goto out;
    }
  }
  printf("sample        %zu of the %zu inputs, run directly and twice over in each mode:\n", n, in.n);
  struct mode m[6];
  const struct mode *best = NULL;
  for (int i = 0; i < 6; i++) {
    m[i] = (struct mode){.start = (enum drv_start)(i / 2), .snapshot = i % 2};
    measure(cfg, s, n, &m[i], m, i);
    /* The simpler command line (the earlier) unless a later one is clearly faster: times vary. */
    if (m[i].trusted && (!best || m[i].us < best->us * 0.9)) best = &m[i];
  }
  if (!best) {
    printf("fastest       none: no mode gave every input's direct outcome and output\n");
    rc = 1;
    goto out;
  }
  /* Every option the measurement ran with that changes how the target runs. */
  printf("fastest       forksrv");
  if (best->start != DRV_START_EARLY) printf(" --start %s", start_name(best->start));
  if (best->snapshot) printf(" --reset snapshot");
  if (o->timeout_ms != 1000) printf(" -t %u", o->timeout_ms);
  if (o->startup_timeout_ms != 5000) printf(" --startup-timeout %u", o->startup_timeout_ms);
  if (o->lazy_binding) printf(" --lazy-binding");
  if (o->input_name) printf(" --input-name"), word(o->input_name);
  if (o->preload) printf(" --preload"), word(o->preload);
  for (size_t i = 0; i < o->ninputs; i++) printf(" -i"), word(o->inputs[i]);
  printf(" --");
  for (char **a = o->target; *a; a++) word(*a);
  if (best != m && m[0].trusted && best->us > 0) printf("   (%.1fx the default's speed)", m[0].us / best->us);
  putchar('\n');
  rc = 0;
out:
  for (size_t i = 0; s && i < n; i++) free(s[i].buf), free(s[i].out), free(s[i].err);
  free(s);
  cli_free_inputs(&in);
  return rc;
}
