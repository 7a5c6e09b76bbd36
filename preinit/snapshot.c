/* --reset snapshot: the child forked at the fork point records its state once and, after each
 * execution, is put back to it in place and runs the next input, instead of exiting. Linux 6.7's
 * userfaultfd write-protect (WP_ASYNC) marks the pages an execution writes without a fault delivered
 * to anyone; PAGEMAP_SCAN lists them, and only those are copied back, so the cost follows the pages
 * written, not the target's size. Whatever cannot be put back ends the child: a fresh fork follows. */
#include "../fifo/protocol.h"
#include "server.h"

/* Registers, as setjmp keeps them: callee-saved ones, the stack pointer, where to resume, and the
 * floating-point control words. snap_save returns 0, and 1 again when snap_resume comes back to it. */
struct snap_ctx {
  unsigned long r[24];
};
FSRV_HIDDEN __attribute__((returns_twice)) int fsrv_snap_save(struct snap_ctx *c);
FSRV_HIDDEN __attribute__((noreturn)) void fsrv_snap_resume(const struct snap_ctx *c);
/* Calls fn on the stack whose top is top; fn does not return. */
FSRV_HIDDEN __attribute__((noreturn)) void fsrv_snap_on_stack(void *top, void (*fn)(void));

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl fsrv_snap_save\n.hidden fsrv_snap_save\n.type fsrv_snap_save,@function\n"
        "fsrv_snap_save:\n"
        "  mov %rbx,0(%rdi)\n  mov %rbp,8(%rdi)\n  mov %r12,16(%rdi)\n  mov %r13,24(%rdi)\n"
        "  mov %r14,32(%rdi)\n  mov %r15,40(%rdi)\n  lea 8(%rsp),%rdx\n  mov %rdx,48(%rdi)\n"
        "  mov (%rsp),%rdx\n  mov %rdx,56(%rdi)\n  stmxcsr 64(%rdi)\n  fnstcw 72(%rdi)\n"
        "  xor %eax,%eax\n  ret\n"
        ".globl fsrv_snap_resume\n.hidden fsrv_snap_resume\n.type fsrv_snap_resume,@function\n"
        "fsrv_snap_resume:\n"
        "  ldmxcsr 64(%rdi)\n  fldcw 72(%rdi)\n"
        "  mov 0(%rdi),%rbx\n  mov 8(%rdi),%rbp\n  mov 16(%rdi),%r12\n  mov 24(%rdi),%r13\n"
        "  mov 32(%rdi),%r14\n  mov 40(%rdi),%r15\n  mov 48(%rdi),%rsp\n  mov $1,%eax\n  jmp *56(%rdi)\n"
        ".globl fsrv_snap_on_stack\n.hidden fsrv_snap_on_stack\n.type fsrv_snap_on_stack,@function\n"
        "fsrv_snap_on_stack:\n"
        "  and $-16,%rdi\n  mov %rdi,%rsp\n  call *%rsi\n  ud2\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl fsrv_snap_save\n.hidden fsrv_snap_save\n.type fsrv_snap_save,%function\n"
        "fsrv_snap_save:\n"
        "  stp x19,x20,[x0,#0]\n  stp x21,x22,[x0,#16]\n  stp x23,x24,[x0,#32]\n  stp x25,x26,[x0,#48]\n"
        "  stp x27,x28,[x0,#64]\n  stp x29,x30,[x0,#80]\n  mov x1,sp\n  str x1,[x0,#96]\n"
        "  stp d8,d9,[x0,#104]\n  stp d10,d11,[x0,#120]\n  stp d12,d13,[x0,#136]\n  stp d14,d15,[x0,#152]\n"
        "  mrs x1,fpcr\n  str x1,[x0,#168]\n  mov x0,#0\n  ret\n"
        ".globl fsrv_snap_resume\n.hidden fsrv_snap_resume\n.type fsrv_snap_resume,%function\n"
        "fsrv_snap_resume:\n"
        "  ldp x19,x20,[x0,#0]\n  ldp x21,x22,[x0,#16]\n  ldp x23,x24,[x0,#32]\n  ldp x25,x26,[x0,#48]\n"
        "  ldp x27,x28,[x0,#64]\n  ldp x29,x30,[x0,#80]\n  ldr x1,[x0,#96]\n  mov sp,x1\n"
        "  ldp d8,d9,[x0,#104]\n  ldp d10,d11,[x0,#120]\n  ldp d12,d13,[x0,#136]\n  ldp d14,d15,[x0,#152]\n"
        "  ldr x1,[x0,#168]\n  msr fpcr,x1\n  mov x0,#1\n  br x30\n"
        ".globl fsrv_snap_on_stack\n.hidden fsrv_snap_on_stack\n.type fsrv_snap_on_stack,%function\n"
        "fsrv_snap_on_stack:\n"
        "  and x0,x0,#-16\n  mov sp,x0\n  blr x1\n  brk #0\n");
#else
#error "snapshot reset: no register save for this architecture"
#endif

#define MAX_RANGES 1024
#define MAX_FDS 256
#define MAX_UNREGISTERED 32
/* Written ranges per PAGEMAP_SCAN call. The kernel allocates a buffer of this many (24 bytes each, at
 * most 512) for every call: above 8 KiB that is a page allocation and free per call, which cost a
 * sixth of each scan. */
#define VEC_LEN 256
#define STACK_SIZE (64 * 1024)
#define PAGE 4096ul
/* The snapshot's own fds sit above the target's and the server's, so that closing what an execution
 * opened is one close_range per gap. */
#define OWN_FD 1100
#define NSIG_ 64

enum range_kind {
  UNTRACKED = 0, /* not registered (the vDSO, the store): a boundary of the scan */
  RESTORED = 1,  /* private and writable: written pages are copied back */
  WATCHED = 2,   /* registered, not restorable (read-only, shared): a write discards the child */
  OWN = 3,       /* forksrv's own small pages (the snapshot's, the slot): registered only so that they
                  * do not split the scan; their writes are neither put back nor protected again */
};
struct range {
  unsigned long start, end;
  unsigned long store; /* RESTORED: offset of its copy in the store */
  int kind;
  int prot;
  int file;  /* backed by a file (a private copy of its pages, all of them, is in the store) */
  int lent;  /* RESTORED from the server's memory, not the store (lent()) */
  int stack; /* [stack] */
};
/* What the thread's stat line tells, read once at the end of each execution. */
struct proc_stat {
  long pgrp, session, threads;
  unsigned long vsize;
  uint64_t blocked, ignored, caught;
};
struct saved_fd {
  int fd, saved, cloexec, flags;
  long off; /* fds 3 and up on a regular file; else -1 (the driver owns 0-2's offsets) */
};

/* Everything the snapshot keeps lives here, in memory no execution writes and no restore touches. */
struct snap {
  struct snap_ctx ctx;
  int pid, uffd, pagemap, cwd, req, rep, fds, stat, own_max;
  int server;            /* the parent to read pristine pages from (lent()), or 0 */
  unsigned nlend;        /* pages to read from it, in lend[] */
  unsigned long nopen;   /* fds open at the snapshot, forksrv's own included */
  int maps_touched;      /* an mprotect since the last put-back (through libforksrv.so's own) */
  unsigned long vm_size; /* bytes mapped, as /proc/self/stat says, when the mappings were last checked */
  unsigned nranges, nfds, parse_error;
  unsigned long brk, stack_lo, store_size, top;
  unsigned long unregistered[MAX_UNREGISTERED][2]; /* mappings the kernel would not register */
  unsigned nunregistered;
  unsigned long self_start, self_end, data_start, data_end, slot;
  unsigned char *data;
  struct range r[MAX_RANGES];
  struct saved_fd fd[MAX_FDS];
  struct sys_sigaction act[NSIG_ + 1];
  uint64_t mask;
  struct proc_stat at_snapshot, at_end; /* /proc/self/stat at the snapshot and when an execution ended */
  long ids[6];
  long seccomp, no_new_privs;
  unsigned long altstack[3];
  unsigned umask;
  struct sys_page_region vec[VEC_LEN];
  struct sys_iovec lend[VEC_LEN];
  char line[8192];
  unsigned char stack[STACK_SIZE] __attribute__((aligned(16)));
};

static struct snap *snap; /* set in the child before its memory is copied, and never after */
static int (*libc_fflush)(void *);
static int (*libc_on_exit)(void (*)(int, void *), void *);


/* Copies n bytes (both page-aligned) without libc. */
static void copy(void *to, const void *from, unsigned long n) {
#if defined(__x86_64__)
  __asm__ volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
#else
  unsigned long *t = to;
  const unsigned long *f = from;
  for (unsigned long i = 0; i < n / sizeof *t; i++) t[i] = f[i];
#endif
}

/* --- /proc/self/maps, a line at a time --- */
struct map {
  unsigned long start, end;
  char r, w, x, p;
  int file;
  const char *name;
};

static unsigned long hex(const char **s) {
  unsigned long v = 0;
  for (;; (*s)++) {
    char c = **s;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v << 4 | (unsigned long)d;
  }
}

static int parse_map(const char *s, struct map *m) {
  m->start = hex(&s);
  if (*s++ != '-') return -1;
  m->end = hex(&s);
  if (*s++ != ' ') return -1;
  m->r = s[0], m->w = s[1], m->x = s[2], m->p = s[3];
  s += 4;
  for (int field = 0; field < 3; field++) { /* offset, device, inode */
    while (*s == ' ') s++;
    const char *begin = s;
    while (*s && *s != ' ') s++;
    if (field == 2) m->file = !(s - begin == 1 && *begin == '0');
  }
  while (*s == ' ') s++;
  m->name = s;
  return 0;
}

/* Calls each(h, map) for every mapping, in address order. */
static long each_map(struct snap *h, int (*each)(struct snap *h, const struct map *m)) {
  long fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  unsigned have = 0;
  long r = 0;
  for (;;) {
    long n = sys_read((int)fd, h->line + have, sizeof h->line - 1 - have);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    have += (unsigned)n;
    unsigned at = 0;
    for (unsigned i = at; i < have; i++) {
      if (h->line[i] != '\n') continue;
      h->line[i] = '\0';
      struct map m;
      if (parse_map(h->line + at, &m) < 0 || each(h, &m) < 0) r = -1;
      at = i + 1;
    }
    if (at == 0 && have == sizeof h->line - 1) r = -1, have = 0; /* a line longer than the buffer */
    for (unsigned i = at; i < have; i++) h->line[i - at] = h->line[i];
    have -= at;
  }
  sys_close((int)fd);
  return r;
}

static int special(const struct map *m) {
  return m->name[0] == '[' && m->name[1] == 'v'; /* [vdso], [vvar], [vvar_vclock], [vsyscall] */
}

/* Never tracked: the kernel's own mappings, the snapshot's store (which a scan would walk), and any
 * the kernel would not register. */
static int untracked(const struct snap *h, const struct map *m) {
  for (unsigned i = 0; i < h->nunregistered; i++)
    if (m->start >= h->unregistered[i][0] && m->end <= h->unregistered[i][1]) return 1;
  return special(m) || (h->data && m->start >= h->data_start && m->end <= h->data_end);
}

/* A large anonymous mapping's pristine pages are read from the server, which forked this child and
 * never writes them (it runs no target code, and one thread), instead of copied into the store: the
 * copy of a 1 GiB heap cost each fresh child 0.5 to 3 s here. Small ones stay in the store, where a
 * put-back copies without a system call. */
#define LEND_MIN (1ul << 20)
static int lent(const struct snap *h, const struct map *m) {
  return h->server && !m->file && m->w == 'w' && m->p == 'p' && m->end - m->start >= LEND_MIN && m->name[0] != '[';
}

/* The server can lend its pages when it runs one thread (as it counted them before it forked: none
 * can start since) and this child may read its memory. */
static int server_lends(struct snap *h, const struct fsrv *s) {
  if (s->threads != 1) return 0;
  long ppid = sys_getppid();
  struct sys_iovec local = {h->line, 1}, remote = {&snap, 1};
  return sys_process_vm_readv((int)ppid, &local, 1, &remote, 1) == 1 ? (int)ppid : 0;
}

static int own(const struct snap *h, const struct map *m) {
  return m->start == h->slot || (m->start >= h->self_start && m->end <= h->self_end);
}

/* Pass one: every mapping the snapshot may track is registered for write-protect. */
static int register_map(struct snap *h, const struct map *m) {
  if (m->end <= 1ul << 47 && m->end > h->top) h->top = m->end;
  if (untracked(h, m)) return 0;
  struct sys_uffdio_register reg = {m->start, m->end - m->start, SYS_UFFDIO_REGISTER_MODE_WP, 0};
  if (sys_ioctl(h->uffd, SYS_UFFDIO_REGISTER, &reg) < 0) { /* stays untracked: a boundary of the scan */
    if (h->nunregistered == MAX_UNREGISTERED) return -1;
    h->unregistered[h->nunregistered][0] = m->start;
    h->unregistered[h->nunregistered++][1] = m->end;
    return 0;
  }
  if (m->w == 'w' && m->p == 'p' && !lent(h, m)) h->store_size += m->end - m->start;
  return 0;
}

/* Pass two, after registering (which may merge mappings) and making the store: the ranges kept. */
static int record_map(struct snap *h, const struct map *m) {
  if (h->nranges == MAX_RANGES) return -1;
  struct range *r = &h->r[h->nranges++];
  r->start = m->start;
  r->end = m->end;
  r->file = m->file;
  r->prot = (m->r == 'r' ? 1 : 0) | (m->w == 'w' ? 2 : 0) | (m->x == 'x' ? 4 : 0);
  r->stack = fsrv_streq(m->name, "[stack]");
  r->lent = lent(h, m);
  r->kind = untracked(h, m) ? UNTRACKED : own(h, m) ? OWN : m->w == 'w' && m->p == 'p' ? RESTORED : WATCHED;
  return 0;
}

/* The ranges whose written pages are protected again after each execution: every registered one
 * but forksrv's own. */
static int protected_kind(int kind) { return kind == RESTORED || kind == WATCHED; }

static long protect(struct snap *h, unsigned long start, unsigned long end) {
  struct sys_uffdio_writeprotect wp = {start, end - start, SYS_UFFDIO_WRITEPROTECT_MODE_WP};
  return start == end ? 0 : sys_ioctl(h->uffd, SYS_UFFDIO_WRITEPROTECT, &wp);
}

/* The pages of [start, end) that have contents (present or swapped out) are copied to the store. */
static long copy_present(struct snap *h, const struct range *r) {
  if (r->file) {
    copy(h->data + r->store, (void *)r->start, r->end - r->start);
    return 0;
  }
  struct sys_pm_scan_arg a = {.size = sizeof a, .start = r->start, .end = r->end, .vec = (unsigned long)h->vec,
                              .vec_len = VEC_LEN, .category_anyof_mask = SYS_PAGE_IS_PRESENT | SYS_PAGE_IS_SWAPPED,
                              .return_mask = SYS_PAGE_IS_PRESENT | SYS_PAGE_IS_SWAPPED};
  for (;;) {
    long n = sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a);
    if (n < 0) return n;
    for (long i = 0; i < n; i++)
      copy(h->data + r->store + (h->vec[i].start - r->start), (void *)h->vec[i].start, h->vec[i].end - h->vec[i].start);
    if (a.walk_end >= r->end || n < VEC_LEN) return 0;
    a.start = a.walk_end;
  }
}

static int own_fd(struct snap *h, long fd) {
  if (fd < 0) return (int)fd;
  if (fd >= OWN_FD) {
    if (fd > h->own_max) h->own_max = (int)fd;
    return (int)fd;
  }
  long up = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, OWN_FD);
  sys_close((int)fd);
  if (up >= 0 && up > h->own_max) h->own_max = (int)up;
  return (int)up;
}

/* An entry of /proc/self/fd, as the fd it names. */
static long fd_of(const char *name) {
  long fd = 0;
  for (const char *c = name; *c; c++) fd = fd * 10 + (*c - '0');
  return fd;
}

static void save_fd(void *ctx, const char *name) {
  struct snap *h = ctx;
  long fd = fd_of(name);
  if (fd >= OWN_FD) return; /* the snapshot's own, the listing's among them */
  if (h->nfds == MAX_FDS) {
    h->parse_error = 1;
    return;
  }
  struct saved_fd *f = &h->fd[h->nfds];
  long fdflags = sys_fcntl((int)fd, F_GETFD, 0), flags = sys_fcntl((int)fd, F_GETFL, 0);
  if (fdflags < 0 || flags < 0) return; /* the listing's own fd, closed since */
  f->fd = (int)fd;
  f->cloexec = (int)(fdflags & FD_CLOEXEC);
  f->flags = (int)flags;
  struct statx st;
  f->off = fd >= 3 && sys_fstat((int)fd, &st) == 0 && (st.stx_mode & S_IFMT) == S_IFREG ? sys_lseek((int)fd, 0, 1) : -1;
  f->saved = own_fd(h, sys_fcntl((int)fd, F_DUPFD_CLOEXEC, OWN_FD));
  if (f->saved < 0) h->parse_error = 1;
  h->nfds++;
}

/* How many fds are open: the size /proc/self/fd reports (Linux 6.2 and later; 0 before). */
static unsigned long open_count(struct snap *h) {
  struct statx st;
  return sys_fstat(h->fds, &st) < 0 ? 0 : (unsigned long)st.stx_size;
}

/* One read of the stat line: the group, session and thread count (fields 5, 6, 20), the size mapped
 * (23), the signal mask (32), and which signals are ignored and which caught (33, 34), where asking
 * the kernel for each disposition costs 62 calls. The thread's line (the child runs one thread, and
 * the count is the process's) spares the kernel adding up the CPU time of all of them. */
static long read_stat(struct snap *h, struct proc_stat *ps) {
  long n = sys3(__NR_pread64, h->stat, h->line, sizeof h->line - 1);
  if (n <= 0) return -1;
  h->line[n] = '\0';
  const char *c = h->line;
  while (*c && *c != ')') c++; /* past the command, which may hold spaces */
  for (const char *p = c; *p; p++)
    if (*p == ')') c = p; /* the last ')' ends it */
  unsigned field = 2;
  uint64_t v[35] = {0};
  for (c++; *c && field < 35; c++) {
    if (*c == ' ') field++;
    else if (*c >= '0' && *c <= '9') v[field] = v[field] * 10 + (uint64_t)(*c - '0');
  }
  if (field < 34) return -1;
  ps->pgrp = (long)v[5];
  ps->session = (long)v[6];
  ps->threads = (long)v[20];
  ps->vsize = v[23];
  ps->blocked = v[32];
  ps->ignored = v[33];
  ps->caught = v[34];
  return 0;
}

/* What a process can change of itself but not change back, besides its session and group (which
 * the stat line tells): its ids, a seccomp filter, no_new_privs. */
static void ids(long out[6]) {
  sys3(__NR_getresuid, &out[0], &out[1], &out[2]);
  sys3(__NR_getresgid, &out[3], &out[4], &out[5]); /* 32-bit ids, in the low halves of zeroed longs */
}

/* The store, where no scan runs: above every mapping (the stack's included) when there is room, so
 * that it does not split the tracked ranges into one more scan. */
static long map_store(struct snap *h) {
  unsigned long huge = 2ul << 20, at = ((1ul << 47) - huge - h->store_size) & ~(huge - 1);
  if (h->store_size < 1ul << 46 && at > h->top + huge) {
    long m = sys6(__NR_mmap, (long)at, (long)h->store_size, 3 /* PROT_READ | PROT_WRITE */,
                  SYS_MAP_PRIVATE_ANON_NORESERVE | SYS_MAP_FIXED_NOREPLACE, -1, 0);
    if ((unsigned long)m == at) return m;
    if ((unsigned long)m <= -4096ul) sys_munmap((unsigned long)m, h->store_size); /* a kernel before 4.17 */
  }
  return sys_mmap(h->store_size, 3 /* PROT_READ | PROT_WRITE */, SYS_MAP_PRIVATE_ANON_NORESERVE);
}

/* The state of the process at the fork point, recorded once. 0, or -1 if it cannot be recorded (the
 * child then runs one input, as a forked one does). */
static __attribute__((noinline)) long record(struct snap *h) {
  struct fsrv *s = fsrv_current;
  h->pid = (int)sys_getpid();
  h->slot = (unsigned long)s->persist.slot;
  int req, rep;
  fsrv_direct_channel(s, &req, &rep);
  h->req = own_fd(h, req);
  h->rep = own_fd(h, rep);
  h->uffd = own_fd(h, sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | SYS_UFFD_USER_MODE_ONLY));
  h->pagemap = own_fd(h, sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  h->cwd = own_fd(h, sys_open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  h->fds = own_fd(h, sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  h->stat = own_fd(h, sys_open("/proc/thread-self/stat", O_RDONLY | O_CLOEXEC));
  if (h->req < 0 || h->rep < 0 || h->uffd < 0 || h->pagemap < 0 || h->cwd < 0 || h->fds < 0 || h->stat < 0)
    return -1;
  struct sys_uffdio_api api = {SYS_UFFD_API, SYS_UFFD_FEATURE_WP_ASYNC | SYS_UFFD_FEATURE_WP_UNPOPULATED, 0};
  if (sys_ioctl(h->uffd, SYS_UFFDIO_API, &api) < 0) return -1;
  h->server = server_lends(h, s);
  /* brk first: the heap's end is part of what the maps say. */
  h->brk = (unsigned long)sys_brk(0);
  if (each_map(h, register_map) < 0) return -1;
  h->store_size = (h->store_size + (16ul << 20)) & ~(PAGE - 1);
  /* Private, so that its pages are plain anonymous ones (and huge where the kernel can): the copy of a
   * 1 GiB heap takes a fraction of what it takes into shared memory. */
  long data = map_store(h);
  if ((unsigned long)data > -4096ul) return -1;
  sys_madvise((unsigned long)data, h->store_size, SYS_MADV_HUGEPAGE);
  h->data = (unsigned char *)data;
  h->data_start = (unsigned long)data;
  h->data_end = h->data_start + h->store_size;
  if (each_map(h, record_map) < 0) return -1;
  unsigned long at = 0;
  for (unsigned i = 0; i < h->nranges; i++) {
    struct range *r = &h->r[i];
    if (r->stack) h->stack_lo = i ? h->r[i - 1].end : r->start;
    if (r->kind != RESTORED || r->lent) continue;
    if (at + (r->end - r->start) > h->store_size) return -1;
    r->store = at;
    at += r->end - r->start;
    if (copy_present(h, r) < 0) return -1;
  }
  if (fsrv_each_entry_fd(h->fds, save_fd, h) < 0 || h->parse_error) return -1;
  for (int sig = 1; sig <= NSIG_; sig++)
    if (sig != SYS_SIGKILL && sig != SYS_SIGSTOP) sys_sigaction(sig, 0, &h->act[sig]);
  sys_sigprocmask(SYS_SIG_BLOCK, 0, &h->mask);
  if (read_stat(h, &h->at_snapshot) < 0) return -1;
  sys_sigaltstack(0, h->altstack);
  ids(h->ids);
  h->seccomp = sys_prctl(SYS_PR_GET_SECCOMP, 0, 0);
  h->no_new_privs = sys_prctl(SYS_PR_GET_NO_NEW_PRIVS, 0, 0);
  h->umask = (unsigned)sys_umask(022);
  sys_umask(h->umask);
  h->vm_size = h->at_snapshot.vsize;
  h->nopen = open_count(h);
  if (!h->nopen) return -1;
  /* From here on every write is marked. */
  for (unsigned i = 0; i < h->nranges; i++)
    if (protected_kind(h->r[i].kind) && protect(h, h->r[i].start, h->r[i].end) < 0) return -1;
  return 0;
}

void fsrv_snapshot_take(struct fsrv *s) {
  long m = sys_mmap(sizeof(struct snap), 3 /* PROT_READ | PROT_WRITE */, SYS_MAP_SHARED_ANON_NORESERVE);
  if ((unsigned long)m > -4096ul) return;
  struct snap *h = (struct snap *)m;
  h->self_start = (unsigned long)m;
  h->self_end = h->self_start + ((sizeof(struct snap) + PAGE - 1) & ~(PAGE - 1));
  h->own_max = -1;
  snap = h;
  /* No deadline while recording, which takes as long as copying the target's memory. */
  s->persist.slot->start_us = ~0ull >> 2;
  if (fsrv_snap_save(&h->ctx)) return; /* an execution ended and the child was put back: the next */
  /* Recording costs a copy of the target's memory, once per child: the first input's time and timeout
   * start after it. */
  long r = record(h);
  s->persist.slot->start_us = fsrv_now_us();
  if (r < 0) {
    /* Not recorded: this child runs one input and ends, as a forked one does. */
    snap = 0;
    if (h->own_max >= 0) sys_close_range(OWN_FD, h->own_max);
    sys_munmap(h->self_start, h->self_end - h->self_start);
    if (h->data) sys_munmap(h->data_start, h->store_size);
    /* The next children would fail alike: the server forks plainly from now on. */
    s->persist.slot->no_snapshot = 1;
  }
}

/* --- putting the child back --- */

/* The range holding addr, from *at on (regions come in address order). */
static const struct range *range_at(const struct snap *h, unsigned *at, unsigned long addr) {
  while (*at < h->nranges && h->r[*at].end <= addr) (*at)++;
  return *at < h->nranges && h->r[*at].start <= addr ? &h->r[*at] : 0;
}

/* The pages read from the server, in one call for all of a scan's (the same addresses both sides). */
static long lend_flush(struct snap *h) {
  unsigned long want = 0;
  for (unsigned i = 0; i < h->nlend; i++) want += h->lend[i].len;
  long n = h->nlend ? sys_process_vm_readv(h->server, h->lend, h->nlend, h->lend, h->nlend) : 0;
  h->nlend = 0;
  return n == (long)want ? 0 : -1;
}

static long lend(struct snap *h, unsigned long start, unsigned long end) {
  h->lend[h->nlend].base = (void *)start;
  h->lend[h->nlend++].len = end - start;
  return h->nlend == VEC_LEN ? lend_flush(h) : 0;
}

/* One written region back to the snapshot (protecting 0), or protected again once every region of
 * the scan is back (1); forksrv's own pages in it left be. */
static long restore_region(struct snap *h, unsigned *at, unsigned long start, unsigned long end, int protecting) {
  for (unsigned long a = start; a < end;) {
    const struct range *r = range_at(h, at, a);
    if (!r && a >= h->stack_lo) {
      /* Stack grown below where it was: zeros again (the mapping stays as large). */
      unsigned long stop = *at < h->nranges && h->r[*at].start < end ? h->r[*at].start : end;
      if (!protecting) sys_madvise(a, stop - a, SYS_MADV_DONTNEED);
      a = stop;
      continue;
    }
    if (r && r->kind == OWN) {
      if (protecting && protect(h, start, a) < 0) return -1;
      a = start = r->end < end ? r->end : end;
      continue;
    }
    if (!r || r->kind != RESTORED) return -1;
    unsigned long stop = r->end < end ? r->end : end;
    if (!protecting && r->lent && lend(h, a, stop) < 0) return -1;
    if (!protecting && !r->lent) copy((void *)a, h->data + r->store + (a - r->start), stop - a);
    a = stop;
  }
  return protecting ? protect(h, start, end) : 0;
}

/* A mapping the execution made and left (a large malloc never freed) is unmapped; one that differs
 * from the snapshot's (a tracked mapping grown over, moved or split) cannot be undone. */
static int unmap_new(struct snap *h, const struct map *m) {
  for (unsigned i = 0; i < h->nranges; i++) {
    const struct range *r = &h->r[i];
    if (m->start == r->start && m->end == r->end) return 0;
    if (r->stack && m->end == r->end && m->start >= h->stack_lo) return 0; /* grown down */
    if (m->start < r->end && r->start < m->end) return -1;
  }
  if (special(m)) return 0;
  return sys_munmap(m->start, m->end - m->start) < 0 ? -1 : 0;
}

/* Whether a put-back scans the range. A program writes a read-only mapping only after changing its
 * protection (or through /proc/self/mem), so one is scanned only when a protection may have changed:
 * walking the libraries' code and constants cost a small target's put-back more than the further
 * scans that skipping them takes (docs/design.md). */
static int scanned(const struct range *r, int check) {
  if (r->kind == UNTRACKED) return 0;
  return r->kind != WATCHED || check || (r->prot & 2);
}

/* Every written page of every tracked mapping, scanned in runs of ranges: a mapping made since the
 * snapshot is not registered, and makes the scan fail (PM_SCAN_CHECK_WPASYNC); then mappings made
 * since are unmapped, and the scan runs again. */
static long restore_memory(struct snap *h, int retried) {
  if ((unsigned long)sys_brk(0) != h->brk && (unsigned long)sys_brk(h->brk) != h->brk) return -1;
  /* A mapping removed, even in part, cannot come back (mprotect fails on a hole); protections changed
   * since are put back, so that the copies below can be written. Only when something may have changed:
   * an mprotect through libforksrv.so, fewer or more pages mapped, a mapping made since. */
  unsigned long size = h->at_end.vsize;
  int check = retried || h->maps_touched || size != h->vm_size;
  for (unsigned i = 0, j; check && i < h->nranges; i = j + 1) {
    j = i;
    if (!protected_kind(h->r[i].kind)) continue;
    while (j + 1 < h->nranges && h->r[j + 1].start == h->r[j].end && h->r[j + 1].prot == h->r[i].prot &&
           protected_kind(h->r[j + 1].kind))
      j++;
    if (sys_mprotect(h->r[i].start, h->r[j].end - h->r[i].start, h->r[i].prot) < 0) return -1;
  }
  if (check && !retried) {
    h->maps_touched = 0;
    h->vm_size = size; /* a stack grown stays so: this is the size to compare with from now on */
  }
  unsigned at = 0;
  for (unsigned i = 0; i < h->nranges;) {
    if (!scanned(&h->r[i], check)) {
      i++;
      continue;
    }
    unsigned j = i;
    while (j + 1 < h->nranges && scanned(&h->r[j + 1], check)) j++;
    /* The holes up to the mappings either side are scanned too: a mapping made there since fails the
     * scan as well. */
    unsigned long start = i ? h->r[i - 1].end : h->r[i].start, end = j + 1 < h->nranges ? h->r[j + 1].start : h->r[j].end;
    if (end >= 1ul << 47) end = h->r[j].end; /* [vsyscall], beyond where a mapping can be made */
    struct sys_pm_scan_arg a = {.size = sizeof a, .flags = SYS_PM_SCAN_CHECK_WPASYNC, .start = start, .end = end,
                                .vec = (unsigned long)h->vec, .vec_len = VEC_LEN, .category_mask = SYS_PAGE_IS_WRITTEN,
                                .return_mask = SYS_PAGE_IS_WRITTEN};
    for (;;) {
      long n = sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a);
      if (n == -EPERM && !retried) return each_map(h, unmap_new) < 0 ? -1 : restore_memory(h, 1);
      if (n < 0) return n;
      unsigned from = at;
      for (long k = 0; k < n; k++)
        if (restore_region(h, &at, h->vec[k].start, h->vec[k].end, 0) < 0) return -1;
      if (lend_flush(h) < 0) return -1;
      at = from;
      for (long k = 0; k < n; k++)
        if (restore_region(h, &at, h->vec[k].start, h->vec[k].end, 1) < 0) return -1;
      if (a.walk_end >= a.end || n < VEC_LEN) break;
      a.start = a.walk_end;
    }
    i = j + 1;
  }
  return 0;
}

/* Descriptors: what the execution opened is closed, what it closed or replaced comes back, with the
 * flags and (fds 3 and up on regular files) the offsets of the snapshot. */
static int open_at_snapshot(const struct snap *h, long fd) {
  for (unsigned i = 0; i < h->nfds; i++)
    if (h->fd[i].fd == fd) return 1;
  return 0;
}

static void close_new_fd(void *ctx, const char *name) {
  struct snap *h = ctx;
  long fd = fd_of(name);
  if ((fd < OWN_FD || fd > h->own_max) && !open_at_snapshot(h, fd)) sys_close((int)fd);
}

/* Once the snapshot's fds are back, any more open than then are new: only then are the fds open
 * listed (close_range over the gaps would visit every number up to ours, open or not, and even the
 * listing costs more than the rest of the put-back of fds). */
static void restore_fds(struct snap *h) {
  for (unsigned i = 0; i < h->nfds; i++) {
    const struct saved_fd *f = &h->fd[i];
    sys_dup3(f->saved, f->fd, f->cloexec ? O_CLOEXEC : 0);
    sys_fcntl(f->fd, F_SETFL, f->flags);
    if (f->off >= 0) sys_lseek(f->fd, f->off, 0);
  }
  if (open_count(h) != h->nopen) fsrv_each_entry_fd(h->fds, close_new_fd, h);
}

/* Signals, timers and the rest a fresh fork would have: dispositions (after a pending signal is
 * dropped by ignoring it), the mask (if the stat line says it changed), the alternate stack, no
 * interval timers, umask, cwd. */
static void restore_process(struct snap *h) {
  uint64_t pending = 0;
  sys_sigpending(&pending);
  /* Every disposition that may differ: a caught one may have another handler now; others differ only
   * if their class did. */
  uint64_t ignored = h->at_end.ignored, caught = h->at_end.caught;
  uint64_t redo = h->at_snapshot.caught | caught | (ignored ^ h->at_snapshot.ignored) | pending;
  struct sys_sigaction ign = {SYS_SIG_IGN, 0, 0, 0};
  for (int sig = 1; sig <= NSIG_; sig++) {
    if (sig == SYS_SIGKILL || sig == SYS_SIGSTOP || !(redo & 1ull << (sig - 1))) continue;
    if (pending & 1ull << (sig - 1)) sys_sigaction(sig, &ign, 0);
    sys_sigaction(sig, &h->act[sig], 0);
  }
  if (h->at_end.blocked != h->mask) sys_sigprocmask(SYS_SIG_SETMASK, &h->mask, 0);
  sys_sigaltstack(h->altstack, 0);
  unsigned long zero[4] = {0, 0, 0, 0};
  for (int which = 0; which < 3; which++) sys_setitimer(which, zero);
  sys_umask(h->umask);
  sys_fchdir(h->cwd);
}

static __attribute__((noreturn)) void put_back(void) {
  struct snap *h = snap;
  /* Anything that cannot be put back ends the child after its result went out: the server then
   * asks the driver for the next request again, and forks afresh. */
  if (restore_memory(h, 0) < 0) sys_exit_group(0);
  restore_fds(h);
  restore_process(h);
  if (!fsrv_direct_read(fsrv_current, h->req)) sys_exit_group(0);
  fsrv_snap_resume(&h->ctx);
}

/* What a put-back cannot undo and must not wait for: a thread still running, a child still alive, an
 * identity changed. Children that ended are reaped here, as the server would reap them after a fork. */
static int must_end(void) {
  const struct proc_stat *then = &snap->at_snapshot, *now = &snap->at_end;
  if (read_stat(snap, &snap->at_end) < 0 || now->threads != 1 || now->session != then->session || now->pgrp != then->pgrp)
    return 1;
  long id[6] = {0, 0, 0, 0, 0, 0};
  ids(id);
  for (int i = 0; i < 6; i++)
    if (id[i] != snap->ids[i]) return 1;
  if (sys_prctl(SYS_PR_GET_SECCOMP, 0, 0) != snap->seccomp || sys_prctl(SYS_PR_GET_NO_NEW_PRIVS, 0, 0) != snap->no_new_privs)
    return 1;
  for (;;) {
    int status;
    long r = sys_wait4(-1, &status, WNOHANG | __WALL, 0);
    if (r == -ECHILD) return 0;
    if (r <= 0 && r != -EINTR) return 1;
  }
}

int fsrv_snapshot_child(void) { return snap && sys_getpid() == snap->pid; }

void fsrv_snapshot_maps_touched(void) {
  if (snap) snap->maps_touched = 1;
}

void fsrv_snapshot_end(int code, int flush) {
  if (!fsrv_snapshot_child()) return;
  if (flush && libc_fflush) libc_fflush(0);
  if (must_end()) return;
  if (!fsrv_direct_report(fsrv_current, snap->rep, snap->pid, (code & 0xff) << 8)) sys_exit_group(0);
  fsrv_snap_on_stack(snap->stack + STACK_SIZE, put_back);
}

static void on_exit_handler(int status, void *arg) {
  (void)arg;
  fsrv_snapshot_end(status, 1);
}

/* Registered once, as early as the library can: handlers run last-registered first, so this one runs
 * after every exit handler and destructor the fork path would run, just before libc flushes stdio. */
void fsrv_snapshot_hook_exit(void) {
  static int hooked;
  if (hooked) return;
  hooked = 1;
  if (!libc_fflush) libc_fflush = (int (*)(void *))fsrv_next_symbol("fflush");
  if (!libc_on_exit) libc_on_exit = (int (*)(void (*)(int, void *), void *))fsrv_next_symbol("on_exit");
  if (libc_on_exit) libc_on_exit(on_exit_handler, 0);
}

/* Before the first fork: 0 if this kernel and this program allow snapshot reset, else why not. */
unsigned fsrv_snapshot_probe(void) {
  fsrv_snapshot_hook_exit();
  if (!libc_fflush || !libc_on_exit) return FIFO_HELLO_SNAPSHOT_NO_LIBC;
  long uffd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | SYS_UFFD_USER_MODE_ONLY);
  unsigned why = FIFO_HELLO_SNAPSHOT_NO_KERNEL;
  if (uffd >= 0) {
    struct sys_uffdio_api api = {SYS_UFFD_API, SYS_UFFD_FEATURE_WP_ASYNC | SYS_UFFD_FEATURE_WP_UNPOPULATED, 0};
    long pm = sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    struct sys_pm_scan_arg a = {.size = sizeof a, .start = 0, .end = 0};
    if (sys_ioctl((int)uffd, SYS_UFFDIO_API, &api) == 0 && pm >= 0 && sys_ioctl((int)pm, SYS_PAGEMAP_SCAN, &a) >= 0) why = 0;
    if (pm >= 0) sys_close((int)pm);
    sys_close((int)uffd);
  }
  return why;
}
