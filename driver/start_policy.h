/* The start policy (start_policy.c): where the server is asked to start, what follows when a start
 * fails, and what the start-up is reported as. Decided from the server's messages alone. */
#ifndef FORKSRV_DRIVER_START_POLICY_H
#define FORKSRV_DRIVER_START_POLICY_H

#include <stddef.h>

#include "server.h"

struct drv_startup {
  char warnings[1024]; /* lines for people, each a warning or a note, newline-terminated */
  char note[256];      /* --start input: which call started the server ("the first read() of ...") */
  int bind_fallback;   /* binding lazily: the target could not start with LD_BIND_NOW=1 */
};

/* Starts s's target as s->cfg asks, falling back as the notices and the target's end say. 0, or -1
 * with s->err. */
int drv_start_policy(struct drv_server *s, struct drv_startup *up);
/* Whether a start binds with LD_BIND_NOW=1 (cfg, the fallback, the caller's environment). */
int drv_binds_now(const struct drv_server *s, const struct drv_startup *up);
/* Why snapshot reset, asked for, is off, by the hello's flags: DRV_SNAPSHOT_OFF and the reason, as
 * drv_reset() says it; the start-up warning says the reason. */
#define DRV_SNAPSHOT_OFF "fork: "
const char *drv_snapshot_off(uint32_t hello_flags);
/* Why a snapshot child could not record its state (a result's record_failure and record_error), as
 * the warning and drv_reset() say it. */
void drv_record_failure(uint32_t failure, int32_t error, char *out, size_t cap);
/* Why a snapshot child was discarded after an input (a result's discard), as the warning says it. */
const char *drv_discard_text(uint32_t discard);

#endif
