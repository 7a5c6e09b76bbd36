/* The live progress line: on a terminal only (stderr a TTY, no -q), one line redrawn at most four
 * times a second and erased before anything else is printed and at the end, so that what stays on
 * the screen is exactly what a non-TTY run prints. Crashes and timeouts are coloured unless NO_COLOR
 * is set or the terminal is dumb. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_US 250000

static int enabled, colour, shown;
static unsigned long total;
static uint64_t last_us;

void cli_progress_start(const struct cli_opts *o, unsigned long executions) {
  const char *term = getenv("TERM"), *no_colour = getenv("NO_COLOR");
  enabled = !o->quiet && isatty(2);
  colour = enabled && !(no_colour && *no_colour) && !(term && !strcmp(term, "dumb"));
  total = executions;
}

void cli_progress_clear(void) {
  if (!shown) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
  shown = 0;
}

static void count(const char *what, unsigned long n, const char *sgr) {
  if (colour && n)
    fprintf(stderr, "  \033[%sm%lu %s\033[m", sgr, n, what);
  else
    fprintf(stderr, "  %lu %s", n, what);
}

void cli_progress(const struct cli_tally *t) {
  if (!enabled) return;
  uint64_t now = drv_now_us();
  if (now - last_us < REDRAW_US) return;
  last_us = now;
  double secs = (double)(now - t->started_us) / 1e6, rate = secs > 0 ? (double)t->execs / secs : 0;
  fflush(stdout);
  fprintf(stderr, "\r\033[K%lu/%lu  %.0f execs/s", t->execs, total, rate);
  count("crashes", t->crashed, "31");
  count("timeouts", t->timed_out, "33");
  if (rate > 0 && total > t->execs) {
    unsigned long eta = (unsigned long)((double)(total - t->execs) / rate + 0.5);
    fprintf(stderr, "  ETA %lu:%02lu:%02lu", eta / 3600, eta / 60 % 60, eta % 60);
  }
  fflush(stderr);
  shown = 1;
}
