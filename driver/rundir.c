/* The run's private directory, $TMPDIR/forksrv.XXXXXX (mode 0700, made by mkdtemp, so nothing others
 * planted is in it), which holds each target's input file in a directory of its own, and the janitor
 * that removes it: a process forked when the directory is made, which waits for the driver's end of a
 * pipe to close, on any exit, a SIGKILL included. Shared by every drv of the process; removed with
 * the last. After a fork only async-signal-safe calls are made: the driver may have threads. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rundir.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static char dir[PATH_MAX];
static int parent_fd = -1, dir_fd = -1; /* $TMPDIR and the run directory, opened when it was made */
static int janitor_pipe = -1;           /* the write end; the janitor reads the other */
static pid_t janitor;

/* Deeper than this, a tree a target made is left for the run directory's rmdir to fail on. */
#define MAX_DEPTH 64

static int remove_tree(int at, const char *name, int depth);

/* Removes every entry of the directory open at fd, but the one named keep (NULL: none). */
static int empty_dir(int fd, const char *keep, int depth) {
  char buf[4096];
  int r = 0;
  long n;
  /* Entries move as others are removed: read again from the start until only keep is left. */
  for (int again = 1; again;) {
    again = 0;
    if (lseek(fd, 0, SEEK_SET) < 0) return -1;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
      for (long at = 0; at < n;) {
        struct dirent64 *e = (struct dirent64 *)(buf + at);
        at += e->d_reclen;
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..") || (keep && !strcmp(name, keep))) continue;
        if (remove_tree(fd, name, depth + 1) < 0) r = -1;
        else again = 1;
      }
    }
    if (n < 0) return -1;
    if (r < 0) return r;
  }
  return r;
}

/* unlinkat never follows a link: a symlink a target planted is removed, not what it points to. */
static int remove_tree(int at, const char *name, int depth) {
  if (unlinkat(at, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  if (depth > MAX_DEPTH) return -1;
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* A directory the target made unreadable is still ours to open. */
  if (fd < 0 && errno == EACCES && fchmodat(at, name, 0700, 0) == 0)
    fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = empty_dir(fd, NULL, depth);
  close(fd);
  if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT) r = -1;
  return r;
}

int drv_remove_tree_at(int at, const char *name) { return remove_tree(at, name, 0); }
int drv_empty_dir_except(int fd, const char *keep) { return empty_dir(fd, keep, 0); }

/* Removes the run directory through the fds taken when it was made: a name swapped in meanwhile (in a
 * $TMPDIR others may write) is never followed. */
static void remove_run_dir(void) {
  const char *base = strrchr(dir, '/');
  empty_dir(dir_fd, NULL, 0);
  unlinkat(parent_fd, base ? base + 1 : dir, AT_REMOVEDIR);
}

/* The janitor: keeps nothing of the driver's open (a FIFO end held here would hide the driver's end
 * from its server), leaves the driver's process group and its signals, and waits for EOF. */
static __attribute__((noreturn)) void be_janitor(int pipe_r) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  setpgid(0, 0);
  int keep[3] = {pipe_r, parent_fd, dir_fd};
  for (int i = 0; i < 3; i++) {
    int fd = fcntl(keep[i], F_DUPFD_CLOEXEC, 3 + 64);
    if (fd < 0) _exit(1);
    keep[i] = fd;
  }
  for (int fd = 0; fd < 3 + 64; fd++) close(fd);
  if (syscall(SYS_close_range, 3 + 64 + 3, ~0u, 0) < 0) {
    for (int fd = 3 + 64 + 3; fd < 65536; fd++) close(fd);
  }
  parent_fd = keep[1];
  dir_fd = keep[2];
  char c;
  while (read(keep[0], &c, 1) != 0 && errno == EINTR) {}
  remove_run_dir();
  _exit(0);
}

int drv_rundir_acquire(char *out, size_t cap, char *err, size_t errlen) {
  pthread_mutex_lock(&lock);
  int r = 0;
  if (users == 0) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    int p[2] = {-1, -1};
    /* The real path, so that the input's path in the target's argv and messages has no link in it. */
    char real[PATH_MAX];
    if (!realpath(tmp, real) || snprintf(dir, sizeof dir, "%s/forksrv.XXXXXX", real) >= (int)sizeof dir - 64 ||
        (parent_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || !mkdtemp(dir)) {
      snprintf(err, errlen, "mkdtemp %s/forksrv.XXXXXX: %s", tmp, strerror(errno ? errno : ENAMETOOLONG));
      r = -1;
    } else if ((dir_fd = openat(parent_fd, strrchr(dir, '/') + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
               pipe2(p, O_CLOEXEC) < 0) {
      snprintf(err, errlen, "run directory %s: %s", dir, strerror(errno));
      r = -1;
    } else if ((janitor = fork()) == 0) {
      be_janitor(p[0]);
    } else if (janitor < 0) {
      snprintf(err, errlen, "fork: %s", strerror(errno));
      r = -1;
    }
    if (p[0] >= 0) close(p[0]);
    if (r == 0) {
      janitor_pipe = p[1];
    } else {
      if (p[1] >= 0) close(p[1]);
      if (dir_fd >= 0) remove_run_dir(), close(dir_fd);
      else if (parent_fd >= 0 && dir[0] && !strstr(dir, "XXXXXX")) unlinkat(parent_fd, strrchr(dir, '/') + 1, AT_REMOVEDIR);
      if (parent_fd >= 0) close(parent_fd);
      dir_fd = parent_fd = -1;
    }
  }
  if (r == 0) {
    users++;
    snprintf(out, cap, "%s", dir);
  }
  pthread_mutex_unlock(&lock);
  return r;
}

void drv_rundir_release(void) {
  pthread_mutex_lock(&lock);
  if (users && --users == 0) {
    remove_run_dir();
    close(janitor_pipe);
    while (waitpid(janitor, NULL, 0) < 0 && errno == EINTR) {}
    close(dir_fd);
    close(parent_fd);
    janitor_pipe = dir_fd = parent_fd = -1;
  }
  pthread_mutex_unlock(&lock);
}
