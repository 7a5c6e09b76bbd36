/* Starting a process of the target: its path, its arguments with "@@" replaced, its environment and
 * its fds 0-2, made once and used for the server process and for every --no-server execution alike,
 * so that the two modes differ only in what they are meant to. */
#ifndef FORKSRV_DRIVER_SPAWN_H
#define FORKSRV_DRIVER_SPAWN_H

#include <sys/types.h>

#include "forksrv_client.h"

struct drv_spawn {
  char *exe;     /* resolved like the shell resolves a command */
  char **argv;   /* with "@@" replaced by the input's path */
  char **envp;   /* for the target */
  int stdin_fd;  /* the input file, or /dev/null when the input is passed as a path */
  int null_fd;   /* /dev/null */
  int stdout_fd; /* fd 1: /dev/null, or the caller's stdout when asked */
  int stderr_fd; /* fd 2: a memfd in append mode, read after a crash */
  char *pid_digits; /* in envp: where the child writes its pid, or NULL */
  char err[640];
};

int drv_fd_above_stdio(int fd);
int drv_spawn_init(struct drv_spawn *sp, char *const *argv, int input_fd, int show_output, int *file_mode);
int drv_spawn_env(struct drv_spawn *sp, const char *req, const char *rep, const char *preload, const char *start,
                  const char *input, int bind_now);
int drv_spawn(struct drv_spawn *sp, int *exec_errno);
/* One --no-server execution, started and then waited for (so that several can run at once): begin
 * returns 0 with job->pid > 0, or 0 with res filled when fork failed, or -1; end waits until
 * deadline_us (CLOCK_MONOTONIC, 0: none), kills the child then, and fills res; -1 when cancelled
 * (errno EINTR). */
struct drv_spawn_job {
  pid_t pid;
  int pidfd;
  uint64_t started_us;
};
uint64_t drv_now_us(void);
/* Milliseconds from now to deadline_us (CLOCK_MONOTONIC), rounded up, for poll: 0 once it passed,
 * -1 for no deadline (0). */
int drv_ms_until(uint64_t deadline_us);
int drv_spawn_begin(struct drv_spawn *sp, struct drv_spawn_job *job, struct drv_result *res);
int drv_spawn_end(struct drv_spawn *sp, struct drv_spawn_job *job, uint64_t deadline_us, int cancel_fd,
                  struct drv_result *res);
void drv_spawn_free(struct drv_spawn *sp);

#endif
