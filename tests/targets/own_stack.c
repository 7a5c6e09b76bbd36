/* Runs its work on an 8 MiB stack it mapped itself, as coroutine and green-thread runtimes do, so
 * that with --start input the server starts, and forks, on that stack. Each execution prints a word
 * kept in a frame below the fork point and a count of the calls it made, changes both, and exits
 * with its input's number: a put-back that gets that stack wrong shows. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "input.h"

#define STACK_SIZE (8 << 20)

static ucontext_t work;
static int argc_;
static char **argv_;

static int depth(int n) { return n ? 1 + depth(n - 1) : 0; } /* writes deeper frames than the fork's */

static void body(void) {
  volatile char word[16] = "pristine";
  char buf[64];
  read_input(argc_, argv_, buf, sizeof buf); /* the fork point, with --start input */
  printf("%s %d\n", (char *)word, depth(2000));
  word[0] = 'W';
  fflush(stdout);
  exit(atoi(buf));
}

int main(int argc, char **argv) {
  argc_ = argc, argv_ = argv;
  char *stack = mmap(0, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) return 101;
  getcontext(&work);
  work.uc_stack.ss_sp = stack;
  work.uc_stack.ss_size = STACK_SIZE;
  work.uc_link = 0;
  makecontext(&work, body, 0);
  setcontext(&work);
  return 102;
}
