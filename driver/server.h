/* The server back end (server.c): a target started with the preload and the two FIFOs, its hello or
 * notice read, then one request and one result per execution. It does the mechanics of one start;
 * where to start and what to do when a start fails is start_policy.c's. */
#ifndef FORKSRV_DRIVER_SERVER_H
#define FORKSRV_DRIVER_SERVER_H

#include <stdint.h>

#include "../fifo/protocol.h"
#include "capture.h"
#include "forksrv_client.h"
#include "infile.h"
#include "spawn.h"

#define DRV_ERR_MAX 1024

struct drv_server {
  /* Set by the caller, shared with the plain back end. */
  const struct drv_config *cfg;
  struct drv_spawn *sp;
  struct drv_infile *in;
  struct drv_captures *caps;
  char *err; /* DRV_ERR_MAX bytes: why the last call failed */

  int req, rep, pid, pidfd;
  int lib_fds[2]; /* the preload and the input hooks, open when their paths hold a separator */
  uint32_t starting_at;     /* the start point of the last start (0: the earliest) */
  struct fifo_hello hello; /* what the running server said at its start */
  /* How the last start ended without a hello: the target's own end (early_status), or a notice. */
  int ended_early, early_status, noticed;
  struct fifo_notice notice;
  uint32_t seq;
  struct fifo_request rq;
};

void drv_server_init(struct drv_server *s);
/* One start: start is FIFO_ENV_START's start point (0: the earliest), bind_now whether the server
 * starts with LD_BIND_NOW=1. 0 with s->hello filled, or -1 with s->err (and ended_early or noticed
 * saying how it ended). */
int drv_server_start(struct drv_server *s, uint32_t start, int bind_now);
/* Closes what a failed start left and empties the captures, for the next start. */
int drv_server_clear(struct drv_server *s);
/* One execution of the input already in place: its result, or -1 with s->err. */
int drv_server_run(struct drv_server *s, struct fifo_result *out);
/* What a result tells besides the outcome (record_failure and record_error, discard), copied from
 * one that is not the outcome (a resend, a retry) into into where into tells none. */
void drv_result_notes(struct fifo_result *into, const struct fifo_result *from);
/* Ends the server (closing its FIFOs lets it clean up and exit) and reaps it; -1 if it had to be
 * killed. */
int drv_server_stop(struct drv_server *s);
/* "exit code 3", "killed by SIGSEGV". */
void drv_describe_status(int status, char *out, size_t cap);
/* The last non-empty line of the target's stderr capture, for people: "" when none is captured. */
void drv_stderr_gist(int fd, char *out, size_t cap);

#endif
