/* A stand-in for Centipede's controller (centipede/command.cc), speaking the runner's FIFO protocol
 * the way Centipede does: one trigger byte per execution (and, with ACK=1, the byte echoed back after
 * the fork), then the 4-byte wait status. Each stdin line is written to INFILE before its trigger;
 * one line per result is printed. Usage: centipede_client ACK LIBFORKSRV INFILE TARGET [ARGS...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: centipede_client ACK LIBFORKSRV INFILE TARGET [ARGS...]\n");
    return 2;
  }
  int ack = atoi(argv[1]);
  char dir[] = "/tmp/centipede-client.XXXXXX", fifo0[64], fifo1[64];
  if (!mkdtemp(dir)) die("mkdtemp");
  snprintf(fifo0, sizeof fifo0, "%s/fifo0", dir);
  snprintf(fifo1, sizeof fifo1, "%s/fifo1", dir);
  if (mkfifo(fifo0, 0600) || mkfifo(fifo1, 0600)) die("mkfifo");
  setenv("CENTIPEDE_FORK_SERVER_FIFO0", fifo0, 1);
  setenv("CENTIPEDE_FORK_SERVER_FIFO1", fifo1, 1);
  if (ack) setenv("FORKSRV_CENTIPEDE_ACK", "1", 1);
  setenv("LD_PRELOAD", argv[2], 1);
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[4], argv + 4);
    _exit(127);
  }
  /* As Centipede: FIFO0 for writing, then FIFO1 for reading, both blocking. */
  int p0 = open(fifo0, O_WRONLY), p1 = open(fifo1, O_RDONLY);
  if (p0 < 0 || p1 < 0) die("open fifo");
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    FILE *in = fopen(argv[3], "w");
    if (!in) die("fopen input");
    fputs(line, in);
    fclose(in);
    char trigger = 'x', echo = 0;
    int status;
    if (write(p0, &trigger, 1) != 1) die("write trigger");
    if (ack && (read(p1, &echo, 1) != 1 || echo != trigger)) die("read ack");
    if (read(p1, &status, sizeof status) != sizeof status) die("read status");
    if (WIFEXITED(status))
      printf("%s: exit %d\n", line, WEXITSTATUS(status));
    else
      printf("%s: signal %d\n", line, WTERMSIG(status));
  }
  close(p0);
  close(p1);
  int status;
  waitpid(pid, &status, 0);
  /* As Centipede, which removes them when the command is done, not once they are open. */
  unlink(fifo0), unlink(fifo1), rmdir(dir);
  printf("server: %s %d\n", WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return 0;
}
