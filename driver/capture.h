/* Captures of a target's stdout and stderr (capture.c): memfds the target writes itself, kept near
 * DRV_CAPTURE_HEAD + DRV_CAPTURE_TAIL bytes per execution however much it prints and however long it
 * runs, by punching out the middle. Between two looks (up to LOOK_MAX_MS apart) a capture also holds
 * what was written since the last, and less than another head's worth not punched yet. */
#ifndef FORKSRV_DRIVER_CAPTURE_H
#define FORKSRV_DRIVER_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "forksrv_client.h"

#define DRV_CAPTURE_HEAD DRV_CAPTURE_KEEP
#define DRV_CAPTURE_TAIL DRV_CAPTURE_KEEP

struct drv_captures {
  int fd[2];          /* stdout's and stderr's memfds, or -1 */
  off_t seen[2];      /* the size at the last look (at the end: the size then, > 0 if not empty) */
  off_t punched[2];   /* bytes below this (from DRV_CAPTURE_HEAD on) are freed already */
  int look_ms;        /* the next look comes this long after this one */
  int ended;          /* drv_captures_end ran since the last reset */
  char *tail;         /* a buffer for the tail, kept from one execution to the next */
};

/* A memfd in append mode, so that every child writes at its end; -1 with errno. */
int drv_capture_open(const char *name);
/* Before an execution: both captures empty. -1 with errno. */
int drv_captures_reset(struct drv_captures *c);
/* How long a wait of ms (-1: no end) may sleep before drv_captures_look must run. */
int drv_captures_wait_ms(const struct drv_captures *c, int ms);
/* While the execution runs: frees what lies between the head and the tail. */
void drv_captures_look(struct drv_captures *c);
/* After the execution: each capture becomes its head, a line saying how many bytes were cut, and its
 * tail; cut[i] is that count (0: nothing cut). */
void drv_captures_end(struct drv_captures *c, uint64_t cut[2]);
void drv_captures_free(struct drv_captures *c);

#endif
