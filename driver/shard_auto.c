/* --shard auto: the shard index and count from the CI or batch engine that runs forksrv, so that a
 * parallel job needs no arithmetic of its own. Each engine spells them its own way, and counts from 0
 * or 1 (Slurm from the array's first task id); an engine that gives no count (a Kubernetes Indexed
 * Job, an AWS Batch array) takes it from --shard auto/N. The first engine whose index is set is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct engine {
  const char *name, *index, *count; /* count NULL: given as auto/N */
  int from;                         /* what the first shard's index is; -1: SLURM_ARRAY_TASK_MIN */
};

static const struct engine engines[] = {
    {"GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1},
    {"CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0},
    {"Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0},
    {"Slurm", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", -1},
    {"a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", NULL, 0},
    {"AWS Batch", "AWS_BATCH_JOB_ARRAY_INDEX", NULL, 0},
};

static char message[512];

static const char *say(const char *fmt, const char *a, const char *b) {
  snprintf(message, sizeof message, fmt, a, b);
  return message;
}

/* A variable's whole-number value, or -1 (unset, empty, or not digits alone). */
static long value(const char *var) {
  const char *s = getenv(var);
  if (!s || !*s || strlen(s) > 9 || s[strspn(s, "0123456789")]) return -1;
  return strtol(s, NULL, 10);
}

static const char *not_number(const char *var) {
  return say("--shard auto: %s is '%s', not a whole number", var, getenv(var));
}

/* given: N of auto/N, or 0. Sets the 1-based index and the count; NULL, or what is wrong. */
const char *cli_shard_auto(unsigned long given, unsigned *shard, unsigned *shards, const char **engine) {
  for (size_t k = 0; k < sizeof engines / sizeof *engines; k++) {
    const struct engine *e = &engines[k];
    /* GitLab sets CI_NODE_TOTAL=1 and no index in a job that is not parallel: its one shard. */
    if (!getenv(e->index) && e->count && value(e->count) == 1 && !given) {
      *shard = *shards = 1;
      *engine = e->name;
      return NULL;
    }
    if (!getenv(e->index)) continue;
    long i = value(e->index), n = e->count ? value(e->count) : (long)given, from = e->from;
    if (i < 0) return not_number(e->index);
    if (e->count && n < 0) return getenv(e->count) ? not_number(e->count) : say("--shard auto: %s is set but %s is not", e->index, e->count);
    if (!e->count && !given) return say("--shard auto: %s gives no shard count: say it with --shard auto/N%s", e->index, "");
    if (e->count && given && (unsigned long)n != given) {
      char count[24];
      snprintf(count, sizeof count, "%lu", given);
      snprintf(message, sizeof message, "--shard auto/%s: %s says %ld shards", count, e->count, n);
      return message;
    }
    if (from < 0) {
      from = value("SLURM_ARRAY_TASK_MIN");
      long step = getenv("SLURM_ARRAY_TASK_STEP") ? value("SLURM_ARRAY_TASK_STEP") : 1;
      if (from < 0) return getenv("SLURM_ARRAY_TASK_MIN") ? not_number("SLURM_ARRAY_TASK_MIN") : say("--shard auto: %s is set but %s is not", e->index, "SLURM_ARRAY_TASK_MIN");
      if (step < 1) return not_number("SLURM_ARRAY_TASK_STEP");
      if (i < from || (i - from) % step) return say("--shard auto: %s is not a task of the array (SLURM_ARRAY_TASK_MIN, _STEP)%s", e->index, "");
      i = (i - from) / step, from = 0;
    }
    if (n < 1 || i < from || i - from >= n) {
      snprintf(message, sizeof message, "--shard auto: %s=%s is not one of the %ld shards (%s)", e->index, getenv(e->index), n,
               e->count ? e->count : "auto/N");
      return message;
    }
    *shard = (unsigned)(i - from + 1);
    *shards = (unsigned)n;
    *engine = e->name;
    return NULL;
  }
  return "--shard auto: no CI or batch engine's shard is set (GitLab's CI_NODE_INDEX, CircleCI's CIRCLE_NODE_INDEX, "
         "Buildkite's BUILDKITE_PARALLEL_JOB, Slurm's SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX, "
         "AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX)";
}
