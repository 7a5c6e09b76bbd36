/* A libFuzzer-style target for libforksrv_main.a, and for clang's -fsanitize=fuzzer alike, so that
 * the two mains can be compared: LLVMFuzzerInitialize appends a line to $COUNTER (when set);
 * LLVMFuzzerTestOneInput prints its input's size to stdout and stderr (with HARNESS_PRINTS set; its stdout
 * flushed unless that is "buffered"),
 * crashes on "segv" and "abort", spins on "hang", runs 0.6 s on "slow", holds more and more memory on
 * "oom", leaks on "leak", exits with the code of a non-zero number, and otherwise returns. With
 * HARNESS_COUNTS set, each input first prints how many inputs this process has run and a heap byte it
 * bumps: 1 and 1 in a fresh process. $HARNESS_NOFILE sets both fd limits before the server starts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile int zero;
char *volatile harness_forgotten; /* "leak": the only pointer to a block, then dropped */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  if (getenv("HARNESS_NOFILE")) {
    struct rlimit l = {(rlim_t)atol(getenv("HARNESS_NOFILE")), (rlim_t)atol(getenv("HARNESS_NOFILE"))};
    if (setrlimit(RLIMIT_NOFILE, &l) < 0) _exit(99);
  }
  const char *counter = getenv("COUNTER");
  if (counter) {
    FILE *f = fopen(counter, "a");
    if (f) fputs("init\n", f), fclose(f);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int count;
  static char *heap;
  if (getenv("HARNESS_COUNTS")) {
    if (!heap) heap = calloc(1, 16);
    printf("count=%d heap=%d\n", ++count, ++heap[0]);
    fflush(stdout);
  }
  char buf[64] = {0};
  memcpy(buf, data, size < sizeof buf - 1 ? size : sizeof buf - 1);
  const char *prints = getenv("HARNESS_PRINTS");
  if (prints) printf("out %zu\n", size), fprintf(stderr, "err %zu\n", size);
  if (prints && strcmp(prints, "buffered")) fflush(stdout);
  if (!strcmp(buf, "segv")) *(volatile int *)(long)zero = 1;
  if (!strcmp(buf, "abort")) abort();
  if (!strcmp(buf, "hang"))
    for (;;) zero++;
  if (!strcmp(buf, "slow")) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 600);
  }
  if (!strcmp(buf, "leak")) {
    harness_forgotten = malloc(4096);
    harness_forgotten = 0;
  }
  if (!strcmp(buf, "oom"))
    for (;;) {
      char *p = malloc(16 << 20);
      if (!p) abort();
      memset(p, 1, 16 << 20);
    }
  if (atoi(buf)) exit(atoi(buf));
  return 0;
}
