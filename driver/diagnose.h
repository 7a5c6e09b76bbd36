/* What the driver can tell about a target from its file alone, before or instead of a hello: the
 * reasons a preload cannot reach it, its kind for `forksrv check`, and whether it asks for a deferred
 * start. One reader of ELF headers for all three. */
#ifndef FORKSRV_DRIVER_DIAGNOSE_H
#define FORKSRV_DRIVER_DIAGNOSE_H

#include <stddef.h>

/* Why LD_PRELOAD cannot reach exe (setuid or setgid, statically linked), or NULL. */
const char *drv_no_preload_reason(const char *exe);
/* "dynamic ELF, PIE, not setuid" and the like, or why it is no ELF at all ("a script"). */
void drv_describe_target(const char *exe, char *out, size_t cap);
/* Whether exe calls forksrv_start(): forksrv.h puts FIFO_DEFERRED_SIGNATURE into every binary that does. */
int drv_calls_forksrv_start(const char *exe);

#endif
