/* Runs a shell with its own environment: the shell must be a plain shell, not a second fork server.
 * The shell exits with the code its input holds, plus 100 if it can see forksrv's variables (the
 * LD_BIND_NOW the driver sets for the server among them). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "input.h"

int main(int argc, char **argv) {
  char buf[256], cmd[512];
  read_input(argc, argv, buf, sizeof buf);
  snprintf(cmd, sizeof cmd, "if env | grep -q '^FORKSRV_FIFO_\\|^FORKSRV_DEBUG=\\|^FORKSRV_BIND_NOW=\\|^LD_BIND_NOW='; then exit %d; fi; exit %d", atoi(buf) + 100, atoi(buf));
  int status = system(cmd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
