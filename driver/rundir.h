/* The run's private directory and its janitor (rundir.c), and removing what a target left in it. The
 * janitor is a process of its own, so that even a SIGKILL of the driver leaves no directory behind. */
#ifndef FORKSRV_DRIVER_RUNDIR_H
#define FORKSRV_DRIVER_RUNDIR_H

#include <stddef.h>

/* The run directory's path into out, made (with its janitor) by the first caller: 0, or -1 with err. */
int drv_rundir_acquire(char *out, size_t cap, char *err, size_t errlen);
/* The last release removes it and ends the janitor. */
void drv_rundir_release(void);
/* Removes name (a file, a link, or a whole tree) in the directory open at fd, following no link;
 * removes every entry of the directory open at fd but keep. Async-signal-safe; 0 or -1 with errno. */
int drv_remove_tree_at(int fd, const char *name);
int drv_empty_dir_except(int fd, const char *keep);

#endif
