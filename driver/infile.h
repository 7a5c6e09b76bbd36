/* The input file each execution sees (infile.c): '@@' names it, or it is the target's stdin. Each drv
 * has its own, in a directory of its own, so that whatever a target does to it or beside it can be
 * found and undone. */
#ifndef FORKSRV_DRIVER_INFILE_H
#define FORKSRV_DRIVER_INFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "../fifo/protocol.h"

struct drv_infile {
  int dirfd;          /* its directory, which holds nothing else */
  int fd;             /* read-write, the driver's */
  int stdin_fd;       /* read-only, the target's fd 0 when the input is stdin; else -1 */
  int by_path;        /* '@@': the target opens it by its path */
  int have_run;       /* holds the run directory */
  int stale;          /* its content, mode or times are not known to be what was last put */
  char name[256];
  char dir[PATH_MAX];
  char path[PATH_MAX + 256];
  unsigned mode;          /* the mode and mtime it is given (the user's file's, or 0644 and the start) */
  struct timespec mtime;
  char *data;             /* what it holds, so that an input run again is not written again */
  size_t len, cap;
  struct statx file, dir_st; /* as they were after our last change */
};

/* Makes the file, empty, in a new directory of the run directory: 0, or -1 with err. */
int drv_infile_open(struct drv_infile *f, const char *name, int by_path, char *err, size_t cap);
/* The mode (permission bits) and mtime the next executions' file has. */
void drv_infile_attrs(struct drv_infile *f, unsigned mode, struct timespec mtime);
/* Before an execution: the file holds data and nothing else is in its directory. */
int drv_infile_put(struct drv_infile *f, const void *data, size_t len, char *err, size_t cap);
void drv_infile_close(struct drv_infile *f);

#endif
