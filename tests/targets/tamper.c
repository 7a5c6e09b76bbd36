/* Reports what it finds of its input, then does to it what argv[1] names: does the next execution find
 * it pristine again? It prints "<content> <type> <mode> <entries in its directory> <name>" for '@@'
 * (argv[2]), "<content> <type> <mode> size=<n> offset=<n> <access mode>" for stdin. Actions: delete,
 * rename, truncate, append, chmod, beside (NAME.gz), symlink (to /etc/hostname), subdir (with a file,
 * mode 0), write (stdin, via /proc/self/fd/0), none; isatty reports fds 1 and 2. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type(mode_t m) { return S_ISREG(m) ? "regular" : S_ISLNK(m) ? "symlink" : "other"; }

int main(int argc, char **argv) {
  const char *action = argc > 1 ? argv[1] : "none", *path = argc > 2 ? argv[2] : NULL;
  char buf[256] = "", dir[4096], other[4200];
  struct stat st;
  if (!strcmp(action, "isatty")) {
    printf("stdout %d stderr %d\n", isatty(1), isatty(2));
    return 0;
  }
  if (path) {
    if (lstat(path, &st) < 0) return 100;
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    snprintf(dir, sizeof dir, "%s", path);
    DIR *d = opendir(dirname(dir));
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    snprintf(dir, sizeof dir, "%s", path);
    printf("%s %s %o %d %s\n", buf, type(st.st_mode), st.st_mode & 07777, entries, basename(dir));
    snprintf(other, sizeof other, "%s.moved", path);
    if (!strcmp(action, "delete")) unlink(path);
    if (!strcmp(action, "rename")) rename(path, other);
    if (!strcmp(action, "truncate")) truncate(path, 1);
    if (!strcmp(action, "append")) fd = open(path, O_WRONLY | O_APPEND), dprintf(fd, "more"), close(fd);
    if (!strcmp(action, "chmod")) chmod(path, 0700);
    if (!strcmp(action, "beside")) snprintf(other, sizeof other, "%s.gz", path), close(open(other, O_CREAT | O_WRONLY, 0644));
    if (!strcmp(action, "symlink")) unlink(path), symlink("/etc/hostname", path);
    if (!strcmp(action, "subdir")) {
      snprintf(dir, sizeof dir, "%s", path);
      snprintf(other, sizeof other, "%s/sub", dirname(dir));
      mkdir(other, 0700);
      strcat(other, "/f");
      close(open(other, O_CREAT | O_WRONLY, 0644));
      other[strlen(other) - 2] = '\0';
      chmod(other, 0);
    }
    return 0;
  }
  if (fstat(0, &st) < 0) return 100;
  off_t at = lseek(0, 0, SEEK_CUR);
  ssize_t n = read(0, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  int acc = fcntl(0, F_GETFL) & O_ACCMODE;
  printf("%s %s %o size=%lld offset=%lld %s\n", buf, type(st.st_mode), st.st_mode & 07777, (long long)st.st_size,
         (long long)at, acc == O_RDONLY ? "read-only" : "writable");
  if (!strcmp(action, "write")) {
    int fd = open("/proc/self/fd/0", O_WRONLY | O_TRUNC);
    if (fd >= 0) dprintf(fd, "x"), close(fd);
  }
  if (!strcmp(action, "chmod")) fchmod(0, 0700);
  return 0;
}
