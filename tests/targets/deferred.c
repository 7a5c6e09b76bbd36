/* A target that starts the fork server itself, after its set-up (which appends a line to $COUNTER
 * when set), with forksrv.h's forksrv_start(), and says on stderr what that returned. It exits with
 * the number its input holds. */
#include <stdio.h>
#include <stdlib.h>

#include "forksrv.h"
#include "input.h"

int main(int argc, char **argv) {
  const char *counter = getenv("COUNTER");
  if (counter) {
    FILE *f = fopen(counter, "a");
    if (f) fputs("set-up\n", f), fclose(f);
  }
  fprintf(stderr, "forksrv_start: %d\n", forksrv_start());
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
