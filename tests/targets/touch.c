/* Touches its input in the way its first argument names, for --start input: the input is argv[2]
 * ('@@') or stdin. "stat" stats the path before opening it, "twice" opens it twice, "stdio" reads
 * stdin with fgets, "read" with read(2), "scanf" with scanf, "getchar" a character at a time;
 * "thread" starts a thread first, "regfile" keeps a regular file open across the touch, "ungetc"
 * pushes a '7' back onto stdin before reading it with fgets (a stdio buffer filled before any read).
 * Then it exits with the number the input holds, or crashes on "segv". */
#include <fcntl.h>
#include <pthread.h>
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

static void from_path(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);
  buf[n > 0 ? n : 0] = '\0';
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "read", *path = argc > 2 ? argv[2] : NULL;
  char buf[256] = "";
  if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
  }
  int keep = !strcmp(mode, "regfile") ? open(argv[0], O_RDONLY) : -1;
  if (path) {
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
