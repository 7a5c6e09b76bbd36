/* The benchmark's target: reads stdin and exits 0, so that what is measured is the cost of an execution
 * (no constructor: the default start would run it in every child, the floor never). "target floor N"
 * forks N children that _exit at once and prints the mean "us/exec", a floor no fork server goes below;
 * in "floor-main N" each child reads stdin first, as main does. With -DBENCH_HEAP, a constructor
 * touches $BENCH_HEAP_MB MiB ($BENCH_THP=1: huge pages), whose page tables each fork copies, and each
 * execution writes $BENCH_WRITE_PAGES pages of it spread over the whole heap (--reset snapshot copies
 * back what was written), the same ones each time unless $BENCH_WRITE_VARY=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *heap_p;
static size_t heap_len;

#ifdef BENCH_HEAP
__attribute__((constructor)) static void heap(void) {
  const char *mb = getenv("BENCH_HEAP_MB"), *thp = getenv("BENCH_THP");
  size_t len = mb ? (size_t)atol(mb) << 20 : 0;
  if (!len) return;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("bench target: mmap");
    exit(2);
  }
  madvise(p, len, thp && !strcmp(thp, "1") ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  for (size_t i = 0; i < len; i += 4096) p[i] = 1;
  heap_p = p;
  heap_len = len;
}
#endif

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void read_all(void) {
  char buf[4096];
  while (read(0, buf, sizeof buf) > 0) {}
}

int main(int argc, char **argv) {
  int as_main = argc == 3 && !strcmp(argv[1], "floor-main");
  if (argc == 3 && (as_main || !strcmp(argv[1], "floor"))) {
    long n = atol(argv[2]);
    double t0 = now_us();
    for (long i = 0; i < n; i++) {
      pid_t pid = fork();
      if (pid == 0 && as_main) read_all();
      if (pid == 0) _exit(0);
      if (pid < 0 || waitpid(pid, NULL, 0) != pid) return 2;
    }
    printf("%.1f us/exec\n", (now_us() - t0) / n);
    return 0;
  }
  read_all();
  const char *w = getenv("BENCH_WRITE_PAGES"), *vary = getenv("BENCH_WRITE_VARY");
  size_t pages = heap_len / 4096, n = w ? (size_t)atol(w) : 0;
  /* The same pages every time, or ($BENCH_WRITE_VARY=1) others each time: the clock picks them. */
  size_t from = vary && !strcmp(vary, "1") ? (size_t)now_us() : 0;
  for (size_t i = 0; pages && i < n; i++) heap_p[((from + i) * 7919 % pages) * 4096]++;
  _exit(0);
}
