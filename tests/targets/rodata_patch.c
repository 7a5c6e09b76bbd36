/* Snapshot reset's one blind spot on memory (docs/design.md): each run prints a byte of its own
 * read-only file mapping (its constants), then makes that page writable with the mprotect system call
 * itself (no libc call sees it), bumps the byte and makes the page read-only again. A fresh process
 * prints 7 every time; a snapshot child, where nothing else (a libc mprotect, a change in the size
 * mapped) has the put-back look at its read-only mappings, prints 8 and 9 after it, which
 * `forksrv check --reset snapshot` finds. */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char constants[3 * 4096] = {[4096] = 7, [8191] = 7};

int main(void) {
  volatile char *byte = (volatile char *)(((unsigned long)constants + 4095) & ~4095ul);
  if (*byte != 7) byte = (volatile char *)&constants[4096];
  char line[] = "constant ?\n"; /* write(2), not stdio, whose buffer would change the size mapped */
  line[9] = (char)('0' + *byte % 10);
  if (write(1, line, sizeof line - 1) < 0) return 1;
  unsigned long page = (unsigned long)byte & ~4095ul;
  if (syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_WRITE) < 0) return 1;
  ++*byte;
  syscall(SYS_mprotect, page, 4096, PROT_READ);
  return 0;
}
