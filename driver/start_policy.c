/* Where the server starts, and where next when a start fails: a notice names the next (main after an
 * unsafe input start, the entry after an early read), a target that ends before it touches its input
 * starts at the entry, and one the loader cannot start with LD_BIND_NOW ("undefined symbol") binds
 * lazily. Decided from the server's messages and worded here; its stderr lines are never read. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "diagnose.h"
#include "start_policy.h"

enum kind { WARNING, NOTE };

/* One line for people, a warning or a note, behind forksrv's prefix. */
static void say(struct drv_startup *up, enum kind kind, const char *fmt, ...) {
  size_t used = strlen(up->warnings);
  used += (size_t)snprintf(up->warnings + used, sizeof up->warnings - used, "forksrv: %s: ", kind == NOTE ? "note" : "warning");
  if (used >= sizeof up->warnings) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(up->warnings + used, sizeof up->warnings - used, fmt, ap);
  va_end(ap);
}

const char *drv_snapshot_off(uint32_t hello_flags) {
  static char line[160];
  const char *why = fifo_snapshot_off_text(hello_flags);
  snprintf(line, sizeof line, "%s%s", DRV_SNAPSHOT_OFF, why ? why : "snapshot reset needs forksrv's own protocol");
  return line;
}

void drv_record_failure(uint32_t failure, int32_t error, char *out, size_t cap) {
  snprintf(out, cap, "snapshot reset could not record the state at the fork point: %s%s%s", fifo_record_text(failure),
           error ? ": " : "", error ? strerror(-error) : "");
}

const char *drv_discard_text(uint32_t discard) { return fifo_discard_text(discard); }

int drv_binds_now(const struct drv_server *s, const struct drv_startup *up) {
  return !s->cfg->lazy_binding && !up->bind_fallback && !getenv("LD_BIND_NOW");
}

/* The start point asked of the server (FIFO_ENV_START), 0 for the earliest. */
static uint32_t wanted(const struct drv_server *s, enum drv_start at, int no_deferred) {
  if (!no_deferred && drv_calls_forksrv_start(s->sp->exe)) return FIFO_START_DEFERRED;
  return at == DRV_START_MAIN ? FIFO_START_MAIN : at == DRV_START_INPUT ? FIFO_START_INPUT : 0;
}

static const char *late_start_text(uint32_t start) {
  return start == FIFO_START_MAIN ? "main" : start == FIFO_START_INPUT ? "the first touch of the input" : "forksrv_start()";
}

/* What the hello says that people should know: threads at the fork point, regular files open there. */
static void say_hello(const struct drv_server *s, struct drv_startup *up) {
  const struct fifo_hello *h = &s->hello;
  if (h->call[0]) snprintf(up->note, sizeof up->note, "the first %s() of the input, %u thread", h->call, h->threads);
  /* With the target's stderr shown as it is (--show-output), the server's own lines were seen there. */
  if (s->sp->stderr_capture < 0) return;
  for (int i = 0; i < 64; i++)
    if (h->shared_fds & 1ull << i)
      say(up, WARNING, "--start input: fd %d is a regular file open at the fork point: every child shares its "
              "offset, and fcntl locks are not inherited\n", 3 + i);
  if (up->note[0]) say(up, NOTE, "%s\n", up->note);
  if (s->cfg->reset_snapshot && !(h->flags & FIFO_HELLO_SNAPSHOT))
    say(up, WARNING, "%s: each input gets a fresh fork\n", drv_snapshot_off(h->flags) + strlen(DRV_SNAPSHOT_OFF));
  if (h->threads > 1)
    say(up, WARNING, "threads are running where the fork server starts; each child keeps only the thread "
            "that forked, so inputs may misbehave (start the server before threads are created)\n");
}

int drv_start_policy(struct drv_server *s, struct drv_startup *up) {
  enum drv_start at = s->cfg->start;
  int no_deferred = 0;
  int r = drv_server_start(s, wanted(s, at, no_deferred), drv_binds_now(s, up));
  for (int tries = 0; r < 0 && tries < 4; tries++) {
    const struct fifo_notice *n = &s->notice;
    int exited = s->ended_early && WIFEXITED(s->early_status);
    char gist[400], how[64];
    drv_stderr_gist(s->sp->stderr_capture, gist, sizeof gist);
    if (drv_binds_now(s, up) && !s->noticed &&
        (strstr(s->err, FIFO_UNDEFINED_SYMBOL) ||
         (s->sp->stderr_capture < 0 && exited && WEXITSTATUS(s->early_status) == 127))) {
      up->bind_fallback = 1;
      if (gist[0]) say(up, WARNING, "with LD_BIND_NOW=1: %s; binding lazily instead, in every child (slower)\n", gist);
    } else if (s->noticed && (n->code == FIFO_NOTICE_INPUT_THREADS || n->code == FIFO_NOTICE_INPUT_BUFFERED) &&
               at == DRV_START_INPUT) {
      say(up, WARNING, "--start input refused at the first %s() of the input: %s; falling back to --start main\n",
          n->call, n->code == FIFO_NOTICE_INPUT_THREADS ? "threads are running, and a child would keep only this one"
                                                        : "stdin's stdio buffer already holds data read before it");
      at = DRV_START_MAIN;
    } else if (s->noticed && n->code == FIFO_NOTICE_READ_EARLY && at != DRV_START_EARLY) {
      say(up, WARNING, "the target read its input before %s, where the server would fork; starting it at its "
              "entry instead\n", late_start_text(n->start));
      at = DRV_START_EARLY;
      no_deferred = 1;
    } else if (s->ended_early && at == DRV_START_INPUT) {
      drv_describe_status(s->early_status, how, sizeof how);
      say(up, NOTE, "--start input: the target ended (%s) before it touched its input; it starts at its entry "
              "instead\n", how);
      at = DRV_START_EARLY;
    } else {
      break;
    }
    if (drv_server_clear(s) < 0) return -1;
    r = drv_server_start(s, wanted(s, at, no_deferred), drv_binds_now(s, up));
  }
  if (r == 0) say_hello(s, up);
  return r;
}
