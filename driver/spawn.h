/* Starting a process of the target: its path, its arguments with "@@" replaced, its environments and
 * its fds 0-2, made once and used for the server process and for every plain fork+exec execution
 * alike, so that the two modes differ only in what they are meant to. */
#ifndef FORKSRV_DRIVER_SPAWN_H
#define FORKSRV_DRIVER_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "forksrv_client.h"

struct drv_spawn {
  char *exe;     /* resolved like the shell resolves a command */
  char **argv;   /* with "@@" replaced by the input file's path */
  char **plain_envp;  /* the caller's environment (with the sanitizers' defaults), for plain runs */
  char **server_envp; /* that, with the server's variables and the preload (drv_spawn_env) */
  int stdin_fd;  /* the input file, or /dev/null when the input is passed as a path */
  int null_fd;   /* /dev/null */
  int stdout_fd; /* fd 1: /dev/null, the caller's stdout, or stdout_capture */
  int stderr_fd; /* fd 2: stderr_capture, or the caller's stderr */
  int stdout_capture, stderr_capture; /* memfds in append mode, read after an execution, or -1 */
  char *pid_digits; /* in server_envp: where the child writes its pid, or NULL */
  char err[640];
};

/* The sanitizers' options forksrv gives a target, in both modes alike and in NAME.repro: each
 * variable's defaults, put before the user's own value (theirs come later, so they win). */
struct drv_sanitizer_default {
  const char *var, *defaults;
};
extern const struct drv_sanitizer_default drv_sanitizer_defaults[];
/* "VAR=DEFAULTS" followed by ":" and the caller's own value if it has one; malloc'ed, or NULL. */
char *drv_sanitizer_entry(const struct drv_sanitizer_default *d);

int drv_fd_above_stdio(int fd);
/* Whether an argument holds "@@": the input is then passed as a path, not as stdin. */
int drv_takes_path(char *const *argv);
/* stdin_fd: the target's fd 0, or -1 for /dev/null. show_output: fds 1 and 2 are the caller's own,
 * but for those captured (stderr always is without show_output). */
int drv_spawn_init(struct drv_spawn *sp, char *const *argv, const char *input_path, int stdin_fd, int show_output,
                   int capture_stdout, int capture_stderr);
/* start: the value of FORKSRV_START, or NULL for the earliest start point; input: the input file's
 * path, which is the target's stdin too with input_is_stdin. */
int drv_spawn_env(struct drv_spawn *sp, const char *req, const char *rep, const char *preload, const char *start,
                  const char *input, int input_is_stdin, int bind_now, int snapshot);
/* Forks and execs the server's process with server_envp; its pid, or -1 (exec_errno: why it could
 * not exec, 0 when fork failed). */
int drv_spawn(struct drv_spawn *sp, int *exec_errno);
/* Milliseconds from now to deadline_us (CLOCK_MONOTONIC), rounded up, for poll: 0 once it passed,
 * -1 for no deadline (0). */
int drv_ms_until(uint64_t deadline_us);
void drv_spawn_free(struct drv_spawn *sp);

#endif
