/* `forksrv check -- TARGET ARGS`: one handshake and one input each way, and a few lines saying what a
 * user needs to trust the set-up: what the target is (static, dynamic, setuid), how long a plain exec
 * takes against the server's start-up, where the server started and as which pid, whether threads
 * ran at the fork point, whether snapshot reset is available (--reset snapshot), and whether the first
 * input ends the same both ways. Exit status 0 when the server serves the target, 1 when an outcome
 * differs, 2 when it did not start (and why). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "cli.h"
#include "diagnose.h"

static const char *binding_text(const char *binding) {
  if (!strcmp(binding, "now")) return "once, in the server, before the first fork (LD_BIND_NOW=1 for the server only)";
  if (!strcmp(binding, "lazy")) return "lazily, again in every child (--lazy-binding)";
  if (!strcmp(binding, "environment")) return "as your LD_BIND_NOW says";
  return "lazily, again in every child: the target cannot start with LD_BIND_NOW=1 (a symbol no library has)";
}

/* Starts the target (with or without the server), runs the empty input once; 0, or -1 with err set.
 * info gets the server's lines (pid, threads), lines those of where it forked, how it binds and how
 * each child is had again (*in_place: put back in place, snapshot reset), and, from a second run,
 * whether one child ran both (*one_child: persistent or put back; -1 unknown). */
static int once(struct drv_config cfg, int no_server, struct drv_result *r, double *start_ms, char *info, size_t cap,
                char *lines, int *in_place, int *one_child, char *err, size_t errlen) {
  cfg.no_server = no_server;
  uint64_t t0 = drv_now_us();
  struct drv *d = drv_start(&cfg, err, errlen);
  if (!d) return -1;
  *start_ms = (double)(drv_now_us() - t0) / 1e3;
  if (info) {
    snprintf(info, cap, "pid %d, protocol %u, started at %s\nthreads       %s", drv_server_pid(d), FIFO_PROTOCOL_VERSION,
             drv_start_point(d), drv_threads(d) > 1 ? "more than one at the fork point: children keep only the forking one"
                                                    : "one at the fork point");
  }
  int rc = drv_run(d, "", 0, r);
  if (rc < 0) snprintf(err, errlen, "%s", drv_error(d));
  struct drv_result again;
  if (one_child) *one_child = rc == 0 && r->pid > 0 && drv_run(d, "", 0, &again) == 0 ? again.pid == r->pid : -1;
  /* After the input: a snapshot child that could not record its state has turned snapshot reset off. */
  if (lines) {
    const char *at = drv_start_note(d);
    const char *reset = drv_reset(d);
    *in_place = !strcmp(reset, "snapshot");
    snprintf(lines, 512, "%s%s%sbinding       %s%s%s", *at ? "fork point    " : "", at, *at ? "\n" : "",
             binding_text(drv_binding(d)), cfg.reset_snapshot ? "\nreset         " : "",
             !cfg.reset_snapshot ? ""
             : strcmp(reset, "snapshot") ? reset
                                         : "snapshot: each child is put back to its fork point in place after an input");
  }
  if (drv_stop(d) < 0 && rc == 0) {
    snprintf(err, errlen, "the server did not stop when asked; killed it");
    rc = -1;
  }
  return rc;
}

/* The first len bytes (at most cap) of a capture, as read from offset 0. */
static size_t capture_of(int fd, char *buf, size_t cap) {
  ssize_t n = fd >= 0 ? pread(fd, buf, cap, 0) : 0;
  return n > 0 ? (size_t)n : 0;
}

/* What one run gave: its outcome and the start of its output. */
struct run_seen {
  struct drv_result r;
  size_t nout, nerr;
  char out[4096], err[4096];
};

static int run_seen(struct drv *d, int plain, struct run_seen *s) {
  if ((plain ? drv_run_plain(d, "", 0, &s->r) : drv_run(d, "", 0, &s->r)) < 0) return -1;
  s->nout = capture_of(drv_stdout_fd(d), s->out, sizeof s->out);
  s->nerr = capture_of(drv_stderr_fd(d), s->err, sizeof s->err);
  return 0;
}

static int same_run(const struct run_seen *a, const struct run_seen *b) {
  return cli_same_outcome(&a->r, &b->r) && a->nout == b->nout && a->nerr == b->nerr && !memcmp(a->out, b->out, a->nout) &&
         !memcmp(a->err, b->err, a->nerr);
}

/* Under snapshot reset: the input run three times in one server, the second and third compared with
 * the first (a state an input leaves for the next shows there), and, where they differ, two plain runs
 * with each other (a target whose output varies from run to run anyway says nothing). 0 the same,
 * 1 a leak, 2 it varies anyway, -1 with err set; discarded gets why the child was not put back, if
 * it was not. */
static int leaks(struct drv_config cfg, char *discarded, size_t cap, char *err, size_t errlen) {
  cfg.capture_stdout = cfg.capture_stderr = 1;
  struct drv *d = drv_start(&cfg, err, errlen);
  if (!d) return -1;
  static struct run_seen first, next, plain;
  int verdict = 0;
  for (int i = 0; i < 3 && verdict == 0; i++) {
    struct run_seen *now = i ? &next : &first;
    if (run_seen(d, 0, now) < 0) verdict = -1;
    else if (i && !same_run(&first, &next)) verdict = 1;
    if (verdict >= 0 && now->r.discarded && !*discarded) snprintf(discarded, cap, "%s", now->r.discarded);
  }
  if (verdict == 1 && (run_seen(d, 1, &first) < 0 || run_seen(d, 1, &plain) < 0)) verdict = -1;
  else if (verdict == 1 && !same_run(&first, &plain)) verdict = 2;
  if (verdict < 0) snprintf(err, errlen, "%s", drv_error(d));
  drv_stop(d);
  return verdict;
}

int cli_check(const struct cli_opts *o) {
  struct drv_config cfg = cli_config(o, -1);
  char what[256], info[512], lines[512] = "", err[1024], a[64], b[64];
  drv_describe_target(o->target[0], what, sizeof what);
  printf("target        %s: %s\n", o->target[0], what);
  struct drv_result plain, served;
  double plain_ms, start_ms;
  int in_place = 0, one_child = -1;
  if (once(cfg, 1, &plain, &plain_ms, NULL, 0, NULL, NULL, NULL, err, sizeof err) < 0) {
    printf("plain exec    failed: %s\n", err);
    return 2;
  }
  printf("plain exec    %.1f ms from fork+exec to exit, on the empty input: %s\n", (double)plain.wall_us / 1e3,
         cli_outcome_text(&plain, a, sizeof a));
  if (once(cfg, 0, &served, &start_ms, info, sizeof info, lines, &in_place, &one_child, err, sizeof err) < 0) {
    printf("fork server   not started: %s\n", err);
    return 2;
  }
  printf("fork server   %s\n", info);
  printf("%s\n", lines);
  printf("start-up      %.1f ms to the handshake\n", start_ms);
  int same = cli_same_outcome(&served, &plain);
  printf("first input   %.2f ms through the server: %s; by plain fork+exec: %s\n", (double)served.wall_us / 1e3,
         cli_outcome_text(&served, a, sizeof a), cli_outcome_text(&plain, b, sizeof b));
  /* Speeds are like for like only where the lifecycles are: say which one this target has. */
  if (one_child >= 0)
    printf("lifecycle     %s\n", in_place    ? "snapshot reset: one child runs input after input, put back after each"
                                 : one_child ? "persistent: one child runs input after input (forksrv_loop(), or the "
                                               "harness main's 1000 per child), not put back between them"
                                             : "fork: a fresh child for each input");
  if (same && in_place) {
    char discarded[256] = "";
    int leak = leaks(cfg, discarded, sizeof discarded, err, sizeof err);
    if (leak < 0) {
      printf("again         failed: %s\n", err);
      return 2;
    }
    if (*discarded) {
      printf("again         the input run again, in a fresh child: %s\n", discarded);
    } else {
      printf("again         %s\n", leak == 1   ? "the input run again in the same child: its outcome or output changed"
                                    : leak == 2 ? "the input run again: its output varies from run to run, plain runs too"
                                                : "the input run twice more in the same child: the same outcome and output");
    }
    if (leak == 1) {
      printf("MISMATCH: under snapshot reset state leaks from one input to the next (--reset fork avoids it)\n");
      return 1;
    }
  }
  printf("%s\n", same ? "ok: the fork server serves this target" : "MISMATCH: the outcomes differ");
  if (!same) return 1;
  return o->ninputs ? cli_check_modes(o) : 0;
}
