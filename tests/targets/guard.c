/* A guard page at the fork point (MADV_GUARD_INSTALL, Linux 6.13): a constructor maps three pages,
 * writes the first and the last and makes the middle one a guard. Each execution checks the two and
 * exits with the number its input holds. Prints "unsupported" and exits 77 where the kernel has no
 * guard pages. A guard page looks swapped out, and written to every scan: a snapshot child that took
 * it for a page with contents, or found it written, touched it and died. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "input.h"

#define PAGE 4096
#define MADV_GUARD_INSTALL_ 102

static char *p;
static int unsupported;

__attribute__((constructor)) static void early(void) {
  p = mmap(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) _exit(101);
  p[0] = p[2 * PAGE] = 'g';
  unsupported = madvise(p + PAGE, PAGE, MADV_GUARD_INSTALL_) != 0;
}

int main(int argc, char **argv) {
  char buf[256];
  if (unsupported) {
    printf("unsupported\n");
    return 77;
  }
  read_input(argc, argv, buf, sizeof buf);
  if (p[0] != 'g' || p[2 * PAGE] != 'g') return 99;
  p[0] = p[2 * PAGE] = 'x';
  return atoi(buf);
}
