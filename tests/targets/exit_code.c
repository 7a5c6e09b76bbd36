/* Exits with the number its input holds (0 for an empty input), after saying so on stdout and stderr:
 * the suite's plainest target, also built static and with libforksrv.a linked in (static_plain,
 * static_fsrv, static_pie_fsrv, dynamic_fsrv). */
#include <stdio.h>
#include <stdlib.h>

#include "input.h"

int main(int argc, char **argv) {
  char buf[256];
  read_input(argc, argv, buf, sizeof buf);
  int code = atoi(buf);
  printf("input '%s'\n", buf);
  fprintf(stderr, "exit %d\n", code);
  return code;
}
