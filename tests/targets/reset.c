/* For --reset snapshot: each execution prints the state it found (a global, a heap object, a static
 * buffer, a brk-grown area, an mmap'ed area, its first new fd, above the lowest free at the start,
 * a signal handler) and changes all of
 * it, so a state that leaks shows as a count above 0. The input picks how the execution ends or what
 * it leaves: "thread", "child", "exec", "unmap" (a page of an anonymous mapping; "unmap N" exits N;
 * "unmapfile": its own file's mapping), "protect", "patch" (writes a read-only mapping, made writable
 * for it; "patch N" exits N; "rawpatch" through the system call), "shared", "leak", "nnp", "segv",
 * "hang", "_exit", "raw", "heap N" (touch N pages of a $HEAP_MB heap), "maps" (write each of $MAPS mappings
 * made at the fork point), "fds" (close each of $FDS fds opened there), "vmpte" (print the size of
 * its page tables), "zap" (drop with MADV_DONTNEED a written page of .data, of a private mapping of
 * its own file, of the first of $MAPS and of the $HEAP_MB heap, and print what each held before and
 * after), "fresh N" (write 1 MiB at N MiB into the writable reservation, and print VmRSS), "late N"
 * (write all of the $HEAP_MB heap, leave a helper that sends SIGKILL once the process blocks every
 * signal, and exit N: the kill strikes during a put-back, after the exit); a number exits with it. With $LOOP set, inputs run in a forksrv_loop() body
 * (persistent mode); $NOFILE sets both fd limits in a constructor, before the fork point of --start
 * main; $RESERVE_GB reserves that much address space there, writable and not, as sanitizers and
 * runtimes do, with a page written in each GiB of the writable one. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "forksrv.h"
#include "input.h"

int global;
static char buffer[8192];
static char data_page[4096] __attribute__((aligned(4096))) = {1};
static int *shared, *mapped_early, *sealed, first_fd;
static unsigned char *big, **maps;
static size_t big_size;
static int nmaps, *fds, nfds;
static unsigned char *exe; /* the program's own file, mapped private */
static char *reserved;     /* $RESERVE_GB's writable reservation */
static volatile int zero;

/* Before main: with --start main the server forks after this, so these exist at the fork point. */
__attribute__((constructor)) static void early(void) {
  if (getenv("NOFILE")) {
    struct rlimit l = {(rlim_t)atol(getenv("NOFILE")), (rlim_t)atol(getenv("NOFILE"))};
    if (setrlimit(RLIMIT_NOFILE, &l) < 0) _exit(99);
  }
  /* Mappings that cannot merge (every other one read-only), each with a page written. */
  nmaps = getenv("MAPS") ? atoi(getenv("MAPS")) : 0;
  maps = calloc((size_t)nmaps + 1, sizeof *maps);
  for (int i = 0; i < nmaps; i++) {
    maps[i] = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (maps[i] == MAP_FAILED) _exit(98);
    maps[i][0] = 1;
    if (i % 2) mprotect(maps[i], 4096, PROT_READ);
  }
  nfds = getenv("FDS") ? atoi(getenv("FDS")) : 0;
  fds = calloc((size_t)nfds + 1, sizeof *fds);
  for (int i = 0; i < nfds; i++)
    if ((fds[i] = open("/dev/null", O_RDONLY)) < 0) _exit(97);
  if (getenv("RESERVE_GB")) {
    size_t size = (size_t)atol(getenv("RESERVE_GB")) << 30;
    char *w = reserved = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w == MAP_FAILED || mmap(0, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
      _exit(96);
    for (size_t at = 0; at < size; at += 1 << 30) w[at] = 1;
  }
  int self = open("/proc/self/exe", O_RDONLY);
  exe = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, self, 0);
  close(self);
  first_fd = dup(0);
  close(first_fd);
  shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  mapped_early = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  sealed = mmap(0, 8 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const char *mb = getenv("HEAP_MB");
  if (mb) {
    big_size = (size_t)atol(mb) << 20;
    big = malloc(big_size);
    for (size_t i = 0; i < big_size; i += 4096) big[i] = 1;
  }
}

static void handler(int sig) { (void)sig; }

/* "late N"'s helper: once process pid has blocked every signal, which a snapshot child does once
 * its exit is done and before it is put back (this target has a handler), SIGKILL 1 ms later; through
 * its pidfd, which reaches no other process once it is gone. At most 10 s. */
static void late_kill(pid_t pid, int pidfd) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  for (int tries = 0; tries < 100000; tries++, usleep(100)) {
    FILE *f = fopen(path, "r");
    if (!f) break;
    unsigned long long blocked = 0;
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "SigBlk:", 7)) blocked = strtoull(line + 7, 0, 16);
    fclose(f);
    if ((blocked | 1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1)) == ~0ull) {
      usleep(1000);
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, 0, 0);
      break;
    }
    if (syscall(SYS_pidfd_send_signal, pidfd, 0, 0, 0) < 0) break; /* gone */
  }
  _exit(0);
}
static void *sleeper(void *arg) {
  (void)arg;
  pause();
  return 0;
}

static void one(const char *in) {
  /* Alone: nothing else tells the put-back that the mappings changed. */
  if (!strcmp(in, "patch") || !strncmp(in, "patch ", 6)) {
    mprotect(sealed, 4096, PROT_READ | PROT_WRITE);
    sealed[0]++;
    mprotect(sealed, 4096, PROT_READ);
    if (in[5] == ' ') exit(atoi(in + 6));
    return;
  }
  if (!strcmp(in, "rawpatch")) { /* the same through the system call itself, which no libc call sees */
    syscall(SYS_mprotect, sealed, 4096, PROT_READ | PROT_WRITE);
    sealed[0]++;
    syscall(SYS_mprotect, sealed, 4096, PROT_READ);
    return;
  }
  static int *heap;
  if (!heap) heap = calloc(1, sizeof *heap);
  char *grown = sbrk(4096);
  int *mapped = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int fd = open("/dev/null", O_RDONLY);
  struct sigaction old;
  sigaction(SIGUSR1, 0, &old);
  printf("global %d heap %d buffer %d brk %d mmap %d fd +%d handler %s shared %d early %d sealed %d\n", global, *heap,
         buffer[100], grown[0], mapped[0], fd - first_fd, old.sa_handler == handler ? "set" : "default", *shared,
         mapped_early[0], sealed[0]);
  global++, ++*heap, buffer[100]++, grown[0]++, mapped[0]++, mapped_early[0]++;
  signal(SIGUSR1, handler);
  pthread_t t;
  if (!strcmp(in, "thread")) pthread_create(&t, 0, sleeper, 0);
  if (!strcmp(in, "child") && fork() == 0) pause();
  if (!strcmp(in, "exec")) fflush(stdout), execl("/bin/echo", "echo", "exec'd", (char *)0);
  if (!strncmp(in, "unmap", 5)) munmap(!strcmp(in, "unmapfile") ? (void *)exe : (void *)(mapped_early + 1024), 4096);
  if (!strcmp(in, "protect")) mprotect(mapped_early, 4096, PROT_READ); /* the next input writes it */
  if (!strcmp(in, "leak")) memset(malloc(1 << 20), 1, 1 << 20); /* an mmap of its own, left mapped */
  if (!strcmp(in, "shared")) ++*shared;
  if (!strcmp(in, "nnp")) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); /* for good: a fresh child follows */
  if (!strcmp(in, "segv")) *(volatile int *)(long)zero = 1;
  if (!strcmp(in, "hang"))
    for (;;) {}
  if (!strcmp(in, "_exit")) printf("not flushed\n"), _exit(5);
  if (!strcmp(in, "raw")) fflush(stdout), syscall(SYS_exit_group, 6);
  if (!strncmp(in, "heap ", 5) && big) {
    long pages = atol(in + 5), dirty = 0;
    for (long i = 0; i < pages; i++) {
      unsigned char *p = &big[(size_t)(i * 7919 % (long)(big_size / 4096)) * 4096];
      dirty += *p != 1;
      ++*p;
    }
    printf("heap pages written %ld, found dirty %ld\n", pages, dirty);
  }
  if (!strcmp(in, "maps")) {
    int dirty = 0;
    for (int i = 0; i < nmaps; i += 2) dirty += maps[i][0] != 1, maps[i][0]++;
    printf("maps written %d, found dirty %d\n", (nmaps + 1) / 2, dirty);
  }
  if (!strcmp(in, "fds")) {
    int open_ = 0;
    for (int i = 0; i < nfds; i++) open_ += fcntl(fds[i], F_GETFD) >= 0, close(fds[i]);
    printf("fds closed %d, found open %d\n", nfds, open_);
  }
  if (!strcmp(in, "zap")) {
    printf("zap data %d", data_page[0]);
    data_page[0] = 7;
    madvise(data_page, 4096, MADV_DONTNEED);
    printf("->%d file %d", data_page[0], exe[0]);
    exe[0] = 7;
    madvise(exe, 4096, MADV_DONTNEED);
    printf("->%d", exe[0]);
    if (nmaps) printf(" map %d", maps[0][0]), madvise(maps[0], 4096, MADV_DONTNEED), printf("->%d", maps[0][0]);
    unsigned char *page = big ? (unsigned char *)(((unsigned long)big + 4095) & ~4095ul) : 0, *one = &big[4096];
    if (page) printf(" heap %d", *one), madvise(page, 4096, MADV_DONTNEED), printf("->%d", *one);
    printf("\n");
  }
  if (!strncmp(in, "fresh ", 6) && reserved)
    for (long at = 0; at < 1 << 20; at += 4096) reserved[(atol(in + 6) << 20) + (1 << 30) / 2 + at] = 1;
  if (!strcmp(in, "vmpte") || !strncmp(in, "fresh ", 6)) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
      if (!strncmp(line, in[0] == 'v' ? "VmPTE:" : "VmRSS:", 6)) printf("%s", line);
    if (f) fclose(f);
  }
  if (atoi(in)) exit(atoi(in));
  if (!strncmp(in, "unmap ", 6)) exit(atoi(in + 6));
  if (!strncmp(in, "late ", 5)) {
    for (size_t i = 0; big && i < big_size; i += 4096) big[i]++;
    pid_t me = getpid();
    int self = (int)syscall(SYS_pidfd_open, me, 0);
    if (fork() == 0) {
      if (fork() == 0) late_kill(me, self);
      _exit(0);
    }
    wait(0);
    exit(atoi(in + 5));
  }
}

int main(int argc, char **argv) {
  char buf[256];
  if (!getenv("LOOP")) {
    read_input(argc, argv, buf, sizeof buf);
    one(buf);
    return 0;
  }
  while (forksrv_loop(1000)) {
    read_input(argc, argv, buf, sizeof buf);
    one(buf);
    fflush(stdout);
  }
  return 0;
}
