/* Starting a process of the target: its path, its arguments with "@@" replaced, its environment and
 * its fds 0-2, made once and used for the server process and for every --no-server execution alike,
 * so that the two modes differ only in what they are meant to. */
#ifndef FORKSRV_DRIVER_SPAWN_H
#define FORKSRV_DRIVER_SPAWN_H

#include "forksrv_client.h"

struct drv_spawn {
  char *exe;     /* resolved like the shell resolves a command */
  char **argv;   /* with "@@" replaced by the input's path */
  char **envp;   /* for the target */
  int stdin_fd;  /* the input file, or /dev/null when the input is passed as a path */
  int null_fd;   /* /dev/null */
  int stdout_fd; /* fd 1: /dev/null, or the caller's stdout when asked */
  int stderr_fd; /* fd 2: a memfd in append mode, read after a crash */
  char err[640];
};

int drv_fd_above_stdio(int fd);
int drv_spawn_init(struct drv_spawn *sp, char *const *argv, int input_fd, int show_output, int *file_mode);
int drv_spawn_env(struct drv_spawn *sp, const char *req, const char *rep, const char *preload, const char *start);
int drv_spawn(struct drv_spawn *sp, int *exec_errno);
int drv_spawn_run(struct drv_spawn *sp, unsigned timeout_ms, int cancel_fd, struct drv_result *res);
void drv_spawn_free(struct drv_spawn *sp);

#endif
