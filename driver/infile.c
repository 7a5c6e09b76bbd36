/* The file each execution sees as its input, as the user's own file would be: a regular file with an
 * ordinary file's mode and times, named as asked ("input.c"), alone in a directory of its own in the
 * run directory. What an execution did to it (deleted, renamed, truncated, rewritten, chmod'ed) or
 * beside it (gzip's input.c.gz) is undone before the next: its ctime, which no write, truncate, chmod
 * or link escapes, says it was touched; with '@@', its directory's times say entries came or went. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "infile.h"
#include "rundir.h"

static int fail(char *err, size_t cap, const char *what, const char *obj) {
  int saved = errno;
  snprintf(err, cap, "%s %s: %s", what, obj, strerror(saved));
  errno = saved;
  return -1;
}

static int same_time(struct statx_timestamp a, struct statx_timestamp b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

static int stat_fd(int fd, struct statx *st) {
  return statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME, st);
}

/* After our own change: what the file and its directory look like untouched. */
static int record(struct drv_infile *f) {
  if (stat_fd(f->fd, &f->file) < 0) return -1;
  return f->by_path ? stat_fd(f->dirfd, &f->dir_st) : 0;
}

static int create(struct drv_infile *f) {
  int fd = openat(f->dirfd, f->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (f->fd >= 0) close(f->fd);
  f->fd = fd;
  f->stale = 1;
  return 0;
}

int drv_infile_open(struct drv_infile *f, const char *name, int by_path, char *err, size_t cap) {
  memset(f, 0, sizeof *f);
  f->fd = f->dirfd = f->stdin_fd = -1;
  f->by_path = by_path;
  f->mode = 0644;
  clock_gettime(CLOCK_REALTIME, &f->mtime);
  if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
      strlen(name) >= sizeof f->name) {
    errno = EINVAL;
    return fail(err, cap, "input file name", name ? name : "(none)");
  }
  snprintf(f->name, sizeof f->name, "%s", name);
  char run[PATH_MAX];
  if (drv_rundir_acquire(run, sizeof run, err, cap) < 0) return -1;
  f->have_run = 1;
  if (snprintf(f->dir, sizeof f->dir, "%s/XXXXXX", run) >= (int)sizeof f->dir || !mkdtemp(f->dir))
    return fail(err, cap, "mkdtemp", run);
  if ((f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) return fail(err, cap, "open", f->dir);
  if (snprintf(f->path, sizeof f->path, "%s/%s", f->dir, f->name) >= (int)sizeof f->path) {
    errno = ENAMETOOLONG;
    return fail(err, cap, "input file", f->dir);
  }
  if (create(f) < 0) return fail(err, cap, "create", f->path);
  /* The target's stdin, as `< file` opens it: read-only, sharing its offset with every child. */
  if (!by_path && (f->stdin_fd = openat(f->dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    return fail(err, cap, "open", f->path);
  /* An atime no read has left: a late start point finds out from it whether the target read its
   * input before the fork point (read_early() in preinit/start.c). */
  struct timespec times[2] = {{FIFO_UNREAD_ATIME, 0}, {0, UTIME_OMIT}};
  if (fchmod(f->fd, f->mode) < 0 || futimens(f->fd, times) < 0 || record(f) < 0) return fail(err, cap, "set up", f->path);
  f->stale = 1;
  return 0;
}

void drv_infile_attrs(struct drv_infile *f, unsigned mode, struct timespec mtime) {
  mode &= 0777;
  if (mode == f->mode && mtime.tv_sec == f->mtime.tv_sec && mtime.tv_nsec == f->mtime.tv_nsec) return;
  f->mode = mode;
  f->mtime = mtime;
  f->stale = 1;
}

/* Entries came or went in the file's directory: all but the file go, and the file, if it is not our
 * own regular file any more (renamed, replaced by a link), is made again. */
static int clean_dir(struct drv_infile *f) {
  struct stat st;
  if (drv_empty_dir_except(f->dirfd, f->name) < 0) return -1;
  if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_ino == f->file.stx_ino)
    return 0;
  if (drv_remove_tree_at(f->dirfd, f->name) < 0) return -1;
  return create(f);
}

int drv_infile_put(struct drv_infile *f, const void *data, size_t len, char *err, size_t cap) {
  /* What the last execution did is undone first, whatever else changes (new attributes, a new
   * input): stale says only that the file must be written. */
  struct statx st;
  if (f->by_path) {
    if (stat_fd(f->dirfd, &st) < 0) return fail(err, cap, "statx", f->dir);
    if (!same_time(st.stx_mtime, f->dir_st.stx_mtime) || !same_time(st.stx_ctime, f->dir_st.stx_ctime)) {
      if (clean_dir(f) < 0) return fail(err, cap, "restore", f->path);
      f->stale = 1;
    }
  }
  if (stat_fd(f->fd, &st) < 0) return fail(err, cap, "statx", f->path);
  /* Removed: made again. In stdin mode it cannot be linked back, but the target's fd 0 keeps it
   * all the same. A hard link made to it elsewhere is left: it still leads to the input. */
  if (!same_time(st.stx_ctime, f->file.stx_ctime)) {
    if (f->by_path && st.stx_nlink == 0 && (drv_remove_tree_at(f->dirfd, f->name) < 0 || create(f) < 0))
      return fail(err, cap, "restore", f->path);
    f->stale = 1;
  }
  int same = !f->stale && len == f->len && (len == 0 || !memcmp(data, f->data, len));
  if (!same) {
    if (len > f->cap) {
      char *p = realloc(f->data, len);
      if (!p) return fail(err, cap, "keep", "input");
      f->data = p;
      f->cap = len;
    }
    for (size_t done = 0; done < len;) {
      ssize_t n = pwrite(f->fd, (const char *)data + done, len - done, (off_t)done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(err, cap, "write", f->path);
      done += (size_t)n;
    }
    if (len) memcpy(f->data, data, len);
    f->len = len;
    struct timespec times[2] = {{0, UTIME_OMIT}, f->mtime};
    if (ftruncate(f->fd, (off_t)len) < 0) return fail(err, cap, "truncate", f->path);
    if (fchmod(f->fd, f->mode) < 0 || futimens(f->fd, times) < 0) return fail(err, cap, "set the times of", f->path);
    if (record(f) < 0) return fail(err, cap, "statx", f->path);
    f->stale = 0;
  }
  /* Every child shares this offset through fd 0; the last one left it wherever it stopped. */
  if (f->stdin_fd >= 0 && lseek(f->stdin_fd, 0, SEEK_SET) < 0) return fail(err, cap, "rewind", f->path);
  return 0;
}

void drv_infile_close(struct drv_infile *f) {
  if (f->fd >= 0) close(f->fd);
  if (f->stdin_fd >= 0) close(f->stdin_fd);
  if (f->dirfd >= 0) {
    drv_empty_dir_except(f->dirfd, NULL);
    close(f->dirfd);
    rmdir(f->dir);
  }
  free(f->data);
  if (f->have_run) drv_rundir_release();
  memset(f, 0, sizeof *f);
  f->fd = f->dirfd = f->stdin_fd = -1;
}
