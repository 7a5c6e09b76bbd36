/* Touches its input (argv[2], '@@', or stdin) the way argv[1] names, for --start input. By path: read,
 * stat (then open), twice, dirfd (openat), dotdot (DIR/../DIR/./NAME), symlink and hardlink (in
 * $LINKDIR), fopen, open64, openat2. On stdin: read, stdio (fgets), scanf, getchar, dup, procfd
 * (/proc/self/fd/0), ungetc (a '7' pushed back: a stdio buffer filled first). Either: thread (one
 * started first), regfile (a regular file held open). Exits with the number read; "segv" crashes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile int zero;

static void *idle(void *arg) {
  pause();
  return arg;
}

static void from_fd(int fd, char *buf, size_t cap) {
  ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);
  buf[n > 0 ? n : 0] = '\0';
  if (fd >= 0) close(fd);
}

static void from_path(const char *path, char *buf, size_t cap) { from_fd(open(path, O_RDONLY), buf, cap); }

/* The input by another spelling of its path. */
static int spelt(const char *mode, const char *path) {
  char copy[2048], dir[2048], name[1024], other[8192];
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(dir, sizeof dir, "%s", dirname(copy));
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(name, sizeof name, "%s", basename(copy));
  const char *links = getenv("LINKDIR");
  if (!strcmp(mode, "dirfd")) return openat(open(dir, O_RDONLY | O_DIRECTORY), name, O_RDONLY);
  if (!strcmp(mode, "dotdot")) {
    char *last = strrchr(dir, '/');
    snprintf(other, sizeof other, "%s/../%s/./%s", dir, last ? last + 1 : dir, name);
    return open(other, O_RDONLY);
  }
  if (!strcmp(mode, "symlink") || !strcmp(mode, "hardlink")) {
    /* One link per input and directory, made by the first run that needs it (and, under the server,
     * before the fork point: every child then opens the same link). A link left by an earlier run
     * whose directory had the same inode number (ext4 gives a deleted directory's number to the next
     * one made) leads elsewhere: it is made again, else every input would read that run's file. */
    struct stat st, to, at;
    char was[2048];
    if (stat(dir, &st) < 0 || stat(path, &to) < 0) return -1;
    snprintf(other, sizeof other, "%s/%s-%lu-%s", links ? links : ".", mode, (unsigned long)st.st_ino, name);
    ssize_t n = readlink(other, was, sizeof was - 1);
    if (mode[0] == 's' ? n >= 0 && (was[n] = 0, strcmp(was, path)) : stat(other, &at) == 0 && (at.st_ino != to.st_ino || at.st_dev != to.st_dev))
      unlink(other);
    if ((mode[0] == 's' ? symlink(path, other) : link(path, other)) < 0 && errno != EEXIST) return -1;
    return open(other, O_RDONLY);
  }
  if (!strcmp(mode, "fopen")) {
    FILE *f = fopen(path, "r");
    return f ? dup(fileno(f)) : -1;
  }
  if (!strcmp(mode, "open64")) return open64(path, O_RDONLY);
  if (!strcmp(mode, "openat2")) {
    struct open_how how = {.flags = O_RDONLY};
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  }
  return -2;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "read", *path = argc > 2 ? argv[2] : NULL;
  char buf[256] = "";
  if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
  }
  int keep = !strcmp(mode, "regfile") ? open(argv[0], O_RDONLY) : -1;
  int fd = path ? spelt(mode, path) : -2;
  if (fd != -2) {
    from_fd(fd, buf, sizeof buf);
  } else if (!path && !strcmp(mode, "dup")) {
    from_fd(dup(0), buf, sizeof buf);
  } else if (!path && !strcmp(mode, "procfd")) {
    from_path("/proc/self/fd/0", buf, sizeof buf);
  } else if (path) {
    struct stat st;
    if (!strcmp(mode, "stat") && stat(path, &st) == 0 && st.st_size > (off_t)sizeof buf) return 99;
    from_path(path, buf, sizeof buf);
    if (!strcmp(mode, "twice")) from_path(path, buf, sizeof buf);
  } else if (!strcmp(mode, "stdio") || !strcmp(mode, "ungetc")) {
    if (!strcmp(mode, "ungetc")) ungetc('7', stdin);
    if (!fgets(buf, sizeof buf, stdin)) buf[0] = '\0';
  } else if (!strcmp(mode, "scanf")) {
    int v = 0;
    if (scanf("%d", &v) == 1) snprintf(buf, sizeof buf, "%d", v);
  } else if (!strcmp(mode, "getchar")) {
    size_t n = 0;
    for (int c; n + 1 < sizeof buf && (c = getchar()) != EOF;) buf[n++] = (char)c;
    buf[n] = '\0';
  } else {
    ssize_t n = read(0, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
  }
  if (keep >= 0) close(keep);
  if (!strncmp(buf, "segv", 4)) *(volatile int *)(long)zero = 1;
  return atoi(buf);
}
