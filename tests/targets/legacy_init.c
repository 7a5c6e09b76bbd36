/* A program started as those linked before glibc 2.34 are: its _start hands __libc_start_main an init
 * function of its own, which libc calls before main and which, as __libc_csu_init did, runs the
 * program's constructors. Both must run in every child, after the server's fork: main exits with the
 * number its input holds only if each ran once, in this very process, else with 90. x86_64's
 * _start, in the shape of glibc's crt1. */
#include <stdlib.h>
#include <unistd.h>

#include "input.h"

typedef void (*init_fn)(int, char **, char **);
extern init_fn __init_array_start[], __init_array_end[]; /* the linker's */

static pid_t init_ran_in, constructor_ran_in;
static int init_runs, constructor_runs;

__attribute__((constructor)) static void constructor(void) {
  constructor_runs++;
  constructor_ran_in = getpid();
}

void legacy_init(int argc, char **argv, char **envp) {
  init_runs++;
  init_ran_in = getpid();
  for (init_fn *f = __init_array_start; f < __init_array_end; f++) (*f)(argc, argv, envp);
}

int main(int argc, char **argv) {
  if (init_runs != 1 || init_ran_in != getpid() || constructor_runs != 1 || constructor_ran_in != getpid()) return 90;
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rdx, %r9\n"              /* the loader's destructor */
        "  pop %rsi\n"                   /* argc */
        "  mov %rsp, %rdx\n"             /* argv */
        "  and $-16, %rsp\n"
        "  push %rax\n"
        "  push %rsp\n"                  /* the stack's end */
        "  xor %r8d, %r8d\n"             /* fini */
        "  lea legacy_init(%rip), %rcx\n"
        "  lea main(%rip), %rdi\n"
        "  call *__libc_start_main@GOTPCREL(%rip)\n"
        "  hlt\n");
