/* The plain fork+exec back end (plain.c): a helper process that runs the target by fork+exec, once
 * per request, and cleans up after each execution as the fork server does. */
#ifndef FORKSRV_DRIVER_PLAIN_H
#define FORKSRV_DRIVER_PLAIN_H

#include <stdint.h>
#include <sys/types.h>

#include "../fifo/protocol.h"
#include "capture.h"
#include "spawn.h"

struct drv_plain {
  pid_t helper; /* 0: none */
  int pidfd;
  int req, rep; /* the helper's request and result pipes, our ends */
  uint32_t seq;
};

/* Forks the helper, which runs sp's command with sp's plain environment and fds: 0, or -1 with err. */
int drv_plain_start(struct drv_plain *p, const struct drv_spawn *sp, char *err, size_t cap);
/* One execution, with its result as the server would send it; -1 with err (and errno EINTR when
 * cancel_fd became readable: the execution is then still running, until drv_plain_stop). */
int drv_plain_run(struct drv_plain *p, uint32_t timeout_ms, int cancel_fd, struct drv_captures *caps,
                  struct fifo_result *out, char *err, size_t cap);
/* Ends the helper (which kills what it runs and reaps everything) and reaps it. */
void drv_plain_stop(struct drv_plain *p);

#endif
