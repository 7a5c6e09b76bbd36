/* The client API (forksrv_client.h) over its two back ends: the server (server.c, started as
 * start_policy.c says) and plain fork+exec (plain.c), which share the input file (infile.c), the
 * process set-up (spawn.c) and the output captures (capture.c), so that the two can be compared input
 * for input. A drv runs its inputs through one of them; drv_run_plain always takes the plain one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "capture.h"
#include "forksrv_client.h"
#include "infile.h"
#include "plain.h"
#include "server.h"
#include "spawn.h"
#include "start_policy.h"

struct drv {
  struct drv_config cfg;
  struct drv_spawn sp;
  struct drv_infile in;
  struct drv_captures caps;
  struct drv_server server;
  struct drv_startup startup;
  struct drv_plain plain;
  char err[DRV_ERR_MAX];
  char reset_off[256]; /* "fork: " and why snapshot reset stopped during the run, or "" */
  unsigned discards_said; /* bit n: a discard for reason n was said */
  char discarded[256];
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

/* Frees d and everything it made; -1 if the server had to be killed. */
static int release(struct drv *d) {
  drv_plain_stop(&d->plain);
  int r = drv_server_stop(&d->server);
  drv_spawn_free(&d->sp);
  drv_infile_close(&d->in);
  drv_captures_free(&d->caps);
  free(d);
  return r;
}

struct drv *drv_start(const struct drv_config *cfg, char *err, size_t errlen) {
  struct drv *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "calloc: %s", strerror(errno));
    return NULL;
  }
  d->cfg = *cfg;
  d->server = (struct drv_server){.cfg = &d->cfg, .sp = &d->sp, .in = &d->in, .caps = &d->caps, .err = d->err};
  drv_server_init(&d->server);
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
  if (ok == 0 && !cfg->no_server) ok = drv_start_policy(&d->server, &d->startup);
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

/* Either back end's result, as the caller sees it. */
static void fill_result(struct drv *d, struct drv_result *res, const struct fifo_result *r) {
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
  uint64_t cut[2];
  drv_captures_end(&d->caps, cut);
  res->stdout_cut = cut[0];
  res->stderr_cut = cut[1];
}

int drv_run_plain(struct drv *d, const void *input, size_t len, struct drv_result *res) {
  if (put_input(d, input, len) < 0) return -1;
  struct fifo_result out;
  if (!d->plain.helper && drv_plain_start(&d->plain, &d->sp, d->err, sizeof d->err) < 0) return -1;
  if (drv_plain_run(&d->plain, d->cfg.timeout_ms, d->cfg.cancel_fd, &d->caps, &out, d->err, sizeof d->err) < 0)
    return -1;
  if (out.reason == FIFO_EXEC_FAILED) {
    errno = -out.error;
    return fail(d, "cannot execute %s: %s", d->sp.argv[0], strerror(-out.error));
  }
  fill_result(d, res, &out);
  return 0;
}

int drv_run(struct drv *d, const void *input, size_t len, struct drv_result *res) {
  if (d->cfg.no_server) return drv_run_plain(d, input, len, res);
  struct fifo_result out;
  /* A result the server retries (a snapshot child's SIGXCPU, which a fresh fork may not have) is not
   * the outcome: the input runs again, from a pristine file and empty captures. What it told of the
   * snapshot child stays told. */
  struct fifo_result notes = {0};
  for (;;) {
    if (put_input(d, input, len) < 0) return -1;
    if (drv_server_run(&d->server, &out) < 0) return -1;
    drv_result_notes(&notes, &out);
    if (out.reason != FIFO_RETRY) break;
  }
  drv_result_notes(&out, &notes);
  fill_result(d, res, &out);
  if (out.discard && out.discard < 32 && !(d->discards_said & 1u << out.discard)) {
    d->discards_said |= 1u << out.discard;
    snprintf(d->discarded, sizeof d->discarded, "snapshot reset discarded its child after an input that %s",
             drv_discard_text(out.discard));
    res->discarded = d->discarded;
  }
  if (out.record_failure) {
    size_t n = strlen(DRV_SNAPSHOT_OFF);
    memcpy(d->reset_off, DRV_SNAPSHOT_OFF, n);
    drv_record_failure(out.record_failure, out.record_error, d->reset_off + n, sizeof d->reset_off - n);
    res->warning = d->reset_off + n;
  }
  return 0;
}

void drv_input_attrs(struct drv *d, unsigned mode, struct timespec mtime) { drv_infile_attrs(&d->in, mode, mtime); }
const char *drv_input_path(const struct drv *d) { return d->in.path; }
int drv_stderr_fd(const struct drv *d) { return d->sp.stderr_capture; }
int drv_stdout_fd(const struct drv *d) { return d->sp.stdout_capture; }
int drv_server_pid(const struct drv *d) { return d->server.pid > 0 ? d->server.pid : 0; }
const char *drv_start_point(const struct drv *d) {
  const char *name = d->server.pid > 0 ? fifo_start_name(d->server.hello.start) : NULL;
  return name ? name : "none";
}
unsigned drv_threads(const struct drv *d) { return d->server.pid > 0 ? d->server.hello.threads : 0; }
const char *drv_warnings(const struct drv *d) { return d->startup.warnings; }
const char *drv_binding(const struct drv *d) {
  if (d->cfg.no_server) return "";
  if (d->startup.bind_fallback) return "lazy, LD_BIND_NOW failed";
  if (d->cfg.lazy_binding) return "lazy";
  if (!(d->server.hello.flags & FIFO_HELLO_BIND_NOW)) return "lazy";
  return drv_binds_now(&d->server, &d->startup) ? "now" : "environment";
}
const char *drv_reset(const struct drv *d) {
  uint32_t f = d->server.pid > 0 ? d->server.hello.flags : 0;
  if (d->cfg.no_server || !d->cfg.reset_snapshot) return "fork";
  if (d->reset_off[0]) return d->reset_off;
  if (f & FIFO_HELLO_SNAPSHOT) return "snapshot";
  return drv_snapshot_off(f);
}
const char *drv_start_note(const struct drv *d) { return d->startup.note; }
const char *drv_error(const struct drv *d) { return d->err; }

int drv_stop(struct drv *d) { return release(d); }
