/* Rigged to behave differently under a fork server that starts after its constructor: the
 * constructor records its pid in $RIGGED, and main (after reading its input from stdin) exits 0 when
 * it runs in that same process, 1 when it does not (its constructor ran in the server, not in this
 * child). Plain fork+exec always exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void record(void) {
  const char *path = getenv("RIGGED");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (f) fprintf(f, "%d\n", (int)getpid()), fclose(f);
}

int main(void) {
  char input[64];
  while (read(0, input, sizeof input) > 0) {}
  const char *path = getenv("RIGGED");
  FILE *f = path ? fopen(path, "r") : NULL;
  int pid = 0;
  if (f) {
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
  }
  return pid == (int)getpid() ? 0 : 1;
}
