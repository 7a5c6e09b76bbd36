/* The benchmark's target: reads its input from stdin and exits 0, the least a target can do, so that
 * what is measured is the cost of an execution; it has no constructor of its own, which the default
 * start would run in every child and the floor never. Its other modes give the bench what it compares:
 *   target floor N   forks N children that _exit at once, reaping each, and prints "N us/exec": the
 *                    floor no fork server can go below (it does this and more per execution);
 *   target floor-main N  the same, but each child does what main does (reads stdin to its end,
 *                    then _exit): with LD_BIND_NOW=1, exactly a forksrv child's own work;
 *   BENCH_HEAP_MB=M  built with -DBENCH_HEAP (bench/heap_target): before main, a constructor maps and
 *                    touches M MiB (in 4 KiB pages, or with BENCH_THP=1 in transparent huge pages),
 *                    which every fork then copies the page tables of. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
  _exit(0);
}
