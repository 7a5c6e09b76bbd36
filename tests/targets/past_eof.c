/* Maps its own file privately and writable, two pages longer than the file (a touch there faults
 * with SIGBUS), in a constructor: before the fork point of --start main. Each execution prints the
 * mapping's first byte as it finds it and as the file has it, then changes it. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "input.h"

static unsigned char *map, first;

__attribute__((constructor)) static void early(void) {
  int fd = open("/proc/self/exe", O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) _exit(101);
  map = mmap(0, (size_t)st.st_size + 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) _exit(102);
  first = map[0];
  close(fd);
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  printf("first byte %s\n", map[0] == first ? "as in the file" : "changed");
  map[0] ^= 0xff;
  return 0;
}
