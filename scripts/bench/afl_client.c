/* A client of AFL++'s fork-server protocol that does nothing else (no fuzzing, no coverage), so that
 * AFL++'s compiled-in server and libforksrv.so's AFL mode are driven alike and compared fairly. As
 * afl-fuzz: stdin is a file rewritten before each execution, fds 198/199 the control and status pipes,
 * per execution a 4-byte word out and the child's pid and status in (the old model, which both servers
 * accept), LD_BIND_NOW=1 unless LD_BIND_LAZY is set. Prints the mean "us/exec", start-up not counted.
 * Usage: afl_client N TARGET [ARGS...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int word(int fd, uint32_t *w) { return read(fd, w, 4) == 4; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: afl_client N TARGET [ARGS...]\n");
    return 2;
  }
  long n = atol(argv[1]);
  int input = memfd_create("afl-client-input", 0), ctl[2], st[2];
  if (input < 0 || pipe(ctl) < 0 || pipe(st) < 0) return perror("afl_client"), 2;
  pid_t server = fork();
  if (server == 0) {
    dup2(ctl[0], 198);
    dup2(st[1], 199);
    dup2(input, 0);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    for (int fd = 3; fd < 198; fd++) close(fd);
    if (!getenv("LD_BIND_LAZY")) setenv("LD_BIND_NOW", "1", 0);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  close(ctl[0]);
  close(st[1]);
  uint32_t hello, pid, status;
  if (!word(st[0], &hello)) return fprintf(stderr, "afl_client: no hello from %s\n", argv[2]), 2;
  double t0 = now_us();
  for (long i = 0; i < n; i++) {
    uint32_t was_killed = 0;
    if (pwrite(input, "hello", 5, 0) != 5 || lseek(input, 0, SEEK_SET) != 0) return perror("afl_client: input"), 2;
    if (write(ctl[1], &was_killed, 4) != 4 || !word(st[0], &pid) || !word(st[0], &status) || status != 0)
      return fprintf(stderr, "afl_client: execution %ld failed\n", i), 2;
  }
  printf("%.1f us/exec\n", (now_us() - t0) / n);
  close(ctl[1]); /* both servers end when the control pipe closes */
  close(st[0]);
  waitpid(server, NULL, 0);
  return 0;
}
