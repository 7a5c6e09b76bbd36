/* The main of a fuzz target built from LLVMFuzzerTestOneInput (libforksrv_main.a): the one file here
 * that uses libc, because it is the target's own main, not the server. Under the forksrv driver it
 * runs LLVMFuzzerInitialize once, starts the server after it (the deferred start), and each child
 * handles up to PERSISTENT_INPUTS inputs from stdin or '@@'. Without a driver it runs each file (or
 * directory's files) named, or stdin, once, as libFuzzer's main does: it replays a corpus in CI. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fifo/protocol.h"

/* What forksrv.h's forksrv_start() leaves in a binary: the driver then waits for the call below. */
static const char deferred_signature[] __attribute__((used)) = FIFO_DEFERRED_SIGNATURE;

/* Strong references: linking libforksrv_main.a brings the server along. */
int forksrv_start_server(void);
int forksrv_loop_server(unsigned n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define PERSISTENT_INPUTS 1000

/* The whole of fd, in a buffer of exactly its size, so that a sanitizer sees reads past the end. */
static uint8_t *read_all(int fd, size_t *size) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (ssize_t r; buf; n += (size_t)r) {
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger) break;
      buf = bigger;
    }
    r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) r = 0;
    else if (r <= 0) {
      uint8_t *exact = malloc(n ? n : 1);
      if (exact) memcpy(exact, buf, n);
      free(buf);
      *size = n;
      return exact;
    }
  }
  free(buf);
  return NULL;
}

static int run_fd(int fd) {
  size_t size;
  uint8_t *data = read_all(fd, &size);
  if (!data) {
    perror("forksrv harness: read");
    return -1;
  }
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  return 0;
}

/* A path named on the command line is followed wherever it leads; inside a directory, only regular
 * files and symlinks to them run: a symlinked directory (l -> .) would make the walk endless, and a
 * FIFO would block it. As the forksrv CLI walks a corpus. */
static int run_path(const char *path, int named) {
  struct stat st;
  if ((named ? stat(path, &st) : lstat(path, &st)) < 0) {
    fprintf(stderr, "forksrv harness: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!named && S_ISLNK(st.st_mode) && (stat(path, &st) < 0 || !S_ISREG(st.st_mode))) return 0;
  if (!named && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
  if (S_ISDIR(st.st_mode)) {
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort), bad = n < 0;
    if (n < 0) fprintf(stderr, "forksrv harness: %s: %s\n", path, strerror(errno));
    for (int i = 0; i < n; i++) {
      char sub[4096];
      if (names[i]->d_name[0] != '.' && snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name) < (int)sizeof sub)
        bad |= run_path(sub, 0) < 0;
      free(names[i]);
    }
    if (n >= 0) free(names);
    return bad ? -1 : 0;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "forksrv harness: %s: %s\n", path, strerror(errno));
    return -1;
  }
  int r = run_fd(fd);
  close(fd);
  return r;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  if (forksrv_start_server()) {
    /* A child of the server: one input per iteration, the same path (or stdin, rewound) each time. */
    while (forksrv_loop_server(PERSISTENT_INPUTS))
      if ((argc > 1 ? run_path(argv[1], 1) : run_fd(0)) < 0) return 1;
    return 0;
  }
  if (argc < 2) return run_fd(0) < 0;
  int bad = 0;
  for (int i = 1; i < argc; i++) bad |= run_path(argv[i], 1) < 0;
  return bad;
}
