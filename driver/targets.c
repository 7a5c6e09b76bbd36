/* A job's targets, one per input file name. A program that dispatches on its input's name (a compiler
 * on .c and .cc, an archiver on .tar.gz) sees each input under a name with the input's extension; the
 * name is in the target's argv, fixed when it starts, so a corpus that mixes extensions gets a target
 * of each, started when the first input of its kind comes and stopped, the least recently used first,
 * beyond CLI_MAX_TARGETS. --input-name gives every input one name, and so one target. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

const char *cli_extension(const char *base) {
  const char *ext = base ? strrchr(base, '.') : NULL;
  if (ext == base) ext = NULL; /* .bashrc has no extension */
  /* x.tar.gz: the archiver looks at both. */
  if (ext && ext - base > 4 && !strncasecmp(ext - 4, ".tar", 4)) ext -= 4;
  if (ext && strlen(ext) > CLI_MAX_EXT) ext = NULL;
  return ext ? ext : base + strlen(base);
}

void cli_input_name(const struct cli_opts *o, const char *input, char *out, size_t cap) {
  if (o->input_name) {
    snprintf(out, cap, "%s", o->input_name);
    return;
  }
  const char *base = input ? strrchr(input, '/') : NULL;
  base = base ? base + 1 : input;
  snprintf(out, cap, "input%s", base && o->by_path ? cli_extension(base) : "");
}

struct drv *cli_target_for(struct cli_targets *ts, const char *input, int say, char *err, size_t cap) {
  char name[256];
  cli_input_name(ts->o, input, name, sizeof name);
  ts->clock++;
  int oldest = 0;
  for (int i = 0; i < ts->n; i++) {
    if (!strcmp(ts->t[i].name, name)) {
      ts->t[i].used = ts->clock;
      return ts->t[i].d;
    }
    if (ts->t[i].used < ts->t[oldest].used) oldest = i;
  }
  int slot = ts->n < CLI_MAX_TARGETS ? ts->n++ : oldest;
  if (ts->t[slot].d && drv_stop(ts->t[slot].d) < 0) cli_error("the server did not stop when asked; killed it");
  ts->t[slot].d = NULL;
  struct drv_config cfg = ts->cfg;
  cfg.input_name = name;
  struct drv *d = drv_start(&cfg, err, cap);
  if (!d) {
    ts->t[slot] = ts->t[--ts->n];
    ts->t[ts->n].d = NULL;
    return NULL;
  }
  snprintf(ts->t[slot].name, sizeof ts->t[slot].name, "%s", name);
  ts->t[slot].d = d;
  ts->t[slot].used = ts->clock;
  ts->t[slot].auto_ = (struct cli_auto){0};
  if (say && !ts->o->quiet && *drv_warnings(d)) cli_progress_clear(), fputs(drv_warnings(d), stderr);
  if (ts->o->verbose && !ts->o->no_server)
    cli_error("fork server pid %d started at %s", drv_server_pid(d), drv_start_point(d));
  if (ts->o->verbose && ts->o->by_path) cli_error("input file %s", drv_input_path(d));
  return d;
}

void cli_targets_stop(struct cli_targets *ts) {
  for (int i = 0; i < ts->n; i++)
    if (ts->t[i].d && drv_stop(ts->t[i].d) < 0) cli_error("the server did not stop when asked; killed it");
  ts->n = 0;
}

struct cli_auto *cli_target_auto(struct cli_targets *ts, const struct drv *d) {
  for (int i = 0; i < ts->n; i++)
    if (ts->t[i].d == d) return &ts->t[i].auto_;
  return NULL;
}

struct drv *cli_target_fork(struct cli_targets *ts, struct drv *d, char *err, size_t cap) {
  for (int i = 0; i < ts->n; i++) {
    if (ts->t[i].d != d) continue;
    if (drv_stop(d) < 0) cli_error("the server did not stop when asked; killed it");
    struct drv_config cfg = ts->cfg;
    cfg.input_name = ts->t[i].name;
    cfg.reset_snapshot = 0;
    ts->t[i].d = drv_start(&cfg, err, cap);
    if (!ts->t[i].d) {
      ts->t[i] = ts->t[--ts->n];
      ts->t[ts->n].d = NULL;
      return NULL;
    }
    return ts->t[i].d;
  }
  snprintf(err, cap, "no such target");
  return NULL;
}
