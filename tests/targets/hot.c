/* For snapshot reset's hot set: pages an execution writes stay writable after its put-back and are
 * copied back every time. Four regions exist at the fork point of --start main: .bss (no contents),
 * .data (the file's), a heap block and a mapping of its own, each of PAGES pages. Each execution
 * first checks every page of each against what it held then and prints "pristine" or what changed;
 * then runs its input, words of a letter and a page number: "wN" writes page N of every region,
 * "dN" drops it again with MADV_DONTNEED, "uN" unmaps page N of the mapping, "rN" maps it anew, "vN"
 * unmaps page N of a second mapping of SMALL pages (kept in the snapshot's store, where the large one
 * is read back from the server), checked as the others, and "bN" grows brk by N pages. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "input.h"

#define PAGES 320
#define PAGE 4096

static char bss[PAGES][PAGE] __attribute__((aligned(PAGE)));
static char data[PAGES][PAGE] __attribute__((aligned(PAGE))) = {{'d'}};
#define SMALL 8

static char *heap, *map, *small;

__attribute__((constructor)) static void early(void) {
  heap = aligned_alloc(PAGE, PAGES * PAGE);
  map = mmap(0, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  small = mmap(0, SMALL * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!heap || map == MAP_FAILED || small == MAP_FAILED) _exit(101);
  for (int i = 0; i < SMALL; i++) small[i * PAGE] = small[i * PAGE + PAGE - 1] = 's';
  for (int i = 0; i < PAGES; i++) {
    data[i][0] = data[i][PAGE - 1] = 'd';
    heap[i * PAGE] = heap[i * PAGE + PAGE - 1] = 'h';
    map[i * PAGE] = map[i * PAGE + PAGE - 1] = 'm';
  }
}

static char *page(int region, int n) {
  return region == 0 ? bss[n] : region == 1 ? data[n] : region == 2 ? heap + n * PAGE : map + n * PAGE;
}

int main(int argc, char **argv) {
  static const char *names[] = {"bss", "data", "heap", "map"};
  static const char was[] = {0, 'd', 'h', 'm'};
  char buf[4096];
  read_input(argc, argv, buf, sizeof buf);
  int changed = 0;
  for (int r = 0; r < 4; r++)
    for (int n = 0; n < PAGES; n++) {
      const char *p = page(r, n);
      if (p[0] != was[r] || p[PAGE - 1] != was[r]) printf("changed: %s page %d\n", names[r], n), changed = 1;
    }
  for (int n = 0; n < SMALL; n++)
    if (small[n * PAGE] != 's' || small[n * PAGE + PAGE - 1] != 's') printf("changed: small page %d\n", n), changed = 1;
  if (!changed) printf("pristine\n");
  for (char *w = strtok(buf, " "); w; w = strtok(0, " ")) {
    int n = atoi(w + 1);
    if (n < 0 || n >= PAGES || (*w == 'v' && n >= SMALL)) return 2;
    if (*w == 'v') munmap(small + n * PAGE, PAGE);
    if (*w == 'b') sbrk(n * PAGE);
    for (int r = 0; r < 4; r++) {
      char *p = page(r, n);
      if (*w == 'w') p[0] = p[PAGE - 1] = 'x';
      if (*w == 'd') madvise(p, PAGE, MADV_DONTNEED);
    }
    if (*w == 'u') munmap(map + n * PAGE, PAGE);
    if (*w == 'r' && mmap(map + n * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      return 3;
  }
  return 0;
}
