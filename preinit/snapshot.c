/* --reset snapshot: the child forked at the fork point records its state once and, after each
 * execution, is put back to it in place and runs the next input, instead of exiting. This file is the
 * lifecycle: recording, the end of an execution (exit, _exit, a persistent loop's turn) and the
 * put-back; each kind of state has a file of its own (snapshot.h). Whatever cannot be recorded or put
 * back ends the child: a fresh fork follows. */
#include "snapshot.h"

/* The registers (snapshot.h's struct snap_ctx): snap_save returns 0, and 1 again when snap_resume
 * comes back to it. */
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
        "  mov (%rsp),%rdx\n  mov %rdx,56(%rdi)\n  fxsave64 192(%rdi)\n"
        "  xor %eax,%eax\n  ret\n"
        ".globl fsrv_snap_resume\n.hidden fsrv_snap_resume\n.type fsrv_snap_resume,@function\n"
        "fsrv_snap_resume:\n"
        "  fxrstor64 192(%rdi)\n"
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
        "  mrs x1,fpcr\n  str x1,[x0,#168]\n  mrs x1,fpsr\n  str x1,[x0,#176]\n  mov x0,#0\n  ret\n"
        ".globl fsrv_snap_resume\n.hidden fsrv_snap_resume\n.type fsrv_snap_resume,%function\n"
        "fsrv_snap_resume:\n"
        "  ldp x19,x20,[x0,#0]\n  ldp x21,x22,[x0,#16]\n  ldp x23,x24,[x0,#32]\n  ldp x25,x26,[x0,#48]\n"
        "  ldp x27,x28,[x0,#64]\n  ldp x29,x30,[x0,#80]\n  ldr x1,[x0,#96]\n  mov sp,x1\n"
        "  ldp d8,d9,[x0,#104]\n  ldp d10,d11,[x0,#120]\n  ldp d12,d13,[x0,#136]\n  ldp d14,d15,[x0,#152]\n"
        "  ldr x1,[x0,#168]\n  msr fpcr,x1\n  ldr x1,[x0,#176]\n  msr fpsr,x1\n  mov x0,#1\n  br x30\n"
        ".globl fsrv_snap_on_stack\n.hidden fsrv_snap_on_stack\n.type fsrv_snap_on_stack,%function\n"
        "fsrv_snap_on_stack:\n"
        "  and x0,x0,#-16\n  mov sp,x0\n  blr x1\n  brk #0\n");
#else
#error "snapshot reset: no register save for this architecture"
#endif

static struct snap *snap; /* set in the child before its memory is copied, and never after */
static int (*libc_fflush)(void *);
static int (*libc_on_exit)(void (*)(int, void *), void *);

/* The fds the snapshot opens for itself, besides one per fd of the target: the FIFOs, the
 * userfaultfd, pagemap, cwd, the fd listing, the stat line, clear_refs. */
#define OWN_FDS 8

/* The tables, sized by what is there now: the mappings (and those the store and the tables add, and
 * registering can only merge), the fds; and room for as many separate runs of pages with contents as
 * a sanitizer's heap and shadow have (a page of the table is used only once written). */
#define MAX_PRESENT (1ul << 20)
static unsigned map_tables(struct snap *h) {
  long maps = snap_count_maps(h), fds = fsrv_count_entries("/proc/self/fd");
  if (maps < 0) return snap_failed(h, FIFO_RECORD_PROC, maps);
  if (fds < 0) return snap_failed(h, FIFO_RECORD_PROC, fds);
  h->max_ranges = (unsigned)maps + 16;
  h->max_fds = (unsigned)fds; /* the listing's own fd among them */
  h->max_own = h->max_fds + OWN_FDS;
  h->max_present = MAX_PRESENT;
  unsigned long size = h->max_ranges * (sizeof *h->r + sizeof *h->unregistered) + h->max_fds * sizeof *h->fd +
                       h->max_own * sizeof *h->own + h->max_present * sizeof *h->present;
  size = (size + SNAP_PAGE - 1) & ~(SNAP_PAGE - 1);
  long m = snap_map_high(h, size, SYS_MAP_SHARED_ANON_NORESERVE);
  if ((unsigned long)m > -4096ul) return snap_failed(h, FIFO_RECORD_MEMORY, m);
  h->tables_start = (unsigned long)m;
  h->tables_end = h->tables_start + size;
  h->present = (struct snap_extent *)m;
  h->r = (struct range *)(h->present + h->max_present);
  h->unregistered = (unsigned long(*)[2])(h->r + h->max_ranges);
  h->fd = (struct saved_fd *)(h->unregistered + h->max_ranges);
  h->own = (int *)(h->fd + h->max_fds);
  return 0;
}

/* The snapshot's own fds: the FIFOs opened again, the userfaultfd, and what it reads of itself. */
static unsigned open_own(struct snap *h) {
  struct fsrv *s = fsrv_current;
  int req, rep;
  h->parked = s->persist.loop_fd >= 0;
  h->tell_late = h->parked && s->persist.one_cpu;
  if (h->parked) {
    /* Moved among the snapshot's own: no execution sees them, nor closes them. */
    req = s->persist.go_fd;
    rep = s->persist.loop_fd;
    s->persist.go_fd = s->persist.loop_fd = -1;
  } else {
    fsrv_direct_channel(s, &req, &rep);
  }
  h->req = snap_own_fd(h, req);
  h->rep = snap_own_fd(h, rep);
  h->uffd = snap_own_fd(h, sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | SYS_UFFD_USER_MODE_ONLY));
  h->pagemap = snap_own_fd(h, sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  h->cwd = snap_own_fd(h, sys_open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  h->fds = snap_own_fd(h, sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  h->stat = snap_own_fd(h, sys_open("/proc/thread-self/stat", O_RDONLY | O_CLOEXEC));
  h->peak = snap_own_fd(h, sys_open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
  int fds[] = {h->req, h->rep, h->uffd, h->pagemap, h->cwd, h->fds, h->stat, h->peak};
  for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] < 0) return snap_failed(h, i < 2 ? FIFO_RECORD_FDS : FIFO_RECORD_PROC, fds[i]);
  struct sys_uffdio_api api = {SYS_UFFD_API, SYS_UFFD_FEATURE_WP_ASYNC | SYS_UFFD_FEATURE_WP_UNPOPULATED, 0};
  long r = sys_ioctl(h->uffd, SYS_UFFDIO_API, &api);
  return r < 0 ? snap_failed(h, FIFO_RECORD_MAPS, r) : 0;
}

/* The state of the process at the fork point, recorded once: 0, or a FIFO_RECORD_* code (the child
 * then runs one input, as a forked one does). */
static __attribute__((noinline)) unsigned record(struct snap *h) {
  h->pid = (int)sys_getpid();
  h->slot = (unsigned long)fsrv_current->persist.slot;
  h->fuzzer_shm = fsrv_current->fuzzer_shm;
  unsigned r = map_tables(h);
  if (!r) r = snap_fds_place(h, h->max_own);  /* at the top, where the target's next fds are not */
  if (!r) {
    r = open_own(h);
    if (!r) r = snap_fds_record(h);
    snap_fds_placed(h);
  }
  if (!r) r = snap_memory_record(h, fsrv_current);
  if (!r) r = snap_process_record(h);
  return r;
}

/* From here on, each input's use is counted as a fresh fork's would be: CPU time from now, the peak
 * resident size from now, without the snapshot's own memory (its copy of the target's, itself). */
static void count_from_here(struct snap *h, struct fsrv_slot *slot) {
  slot->rss_extra_kb = (h->stored + (h->self_end - h->self_start)) / 1024;
  struct rusage ru;
  if (sys2(__NR_getrusage, 0 /* RUSAGE_SELF */, &ru) == 0) {
    slot->utime_base = fsrv_tv_us(&ru.ru_utime);
    slot->stime_base = fsrv_tv_us(&ru.ru_stime);
  }
  slot->peak_kb = ~0ull; /* the recording's peak is not the first input's */
  fsrv_direct_peak_reset(&h->peak);
}

/* A snapshot that could not be recorded is undone: its fds closed, its memory unmapped (all of it
 * read before any is unmapped: the header is unmapped last). */
static void unrecord(struct snap *h) {
  for (unsigned i = 0; i < h->nown; i++) sys_close(h->own[i]);
  unsigned long data = h->data ? h->data_start : 0, data_size = h->store_size;
  unsigned long tables = h->tables_start, tables_size = h->tables_end - h->tables_start;
  unsigned long self = h->self_start, self_size = h->self_end - h->self_start;
  if (data) sys_munmap(data, data_size);
  if (tables) sys_munmap(tables, tables_size);
  sys_munmap(self, self_size);
}

void fsrv_snapshot_take(struct fsrv *s) {
  long m = sys_mmap(sizeof(struct snap), 3 /* PROT_READ | PROT_WRITE */, SYS_MAP_SHARED_ANON_NORESERVE);
  struct fsrv_slot *slot = s->persist.slot;
  if ((unsigned long)m > -4096ul) {
    slot->record_error = (uint32_t)-m;
    slot->record_failure = FIFO_RECORD_MEMORY;
    return;
  }
  struct snap *h = (struct snap *)m;
  h->self_start = (unsigned long)m;
  h->self_end = h->self_start + ((sizeof(struct snap) + SNAP_PAGE - 1) & ~(SNAP_PAGE - 1));
  h->own_hi = -1;
  snap = h;
  /* No deadline while recording, which takes as long as copying the target's memory. */
  slot->start_us = ~0ull >> 2;
  if (fsrv_snap_save(&h->ctx)) return; /* an execution ended and the child was put back: the next */
  /* Recording costs a copy of the target's memory, once per child: the first input's time and timeout
   * start after it. */
  unsigned failure = record(h);
  if (!failure) count_from_here(h, slot);
  slot->start_us = fsrv_now_us();
  if (failure) {
    /* Not recorded: this child runs one input and ends, as a forked one does, and the next children
     * would fail alike: the server forks plainly from now on, and tells the driver why. */
    slot->record_error = h->record_error;
    slot->record_failure = failure;
    snap = 0;
    unrecord(h);
  }
}

/* --- putting the child back --- */

/* The child ends instead of being put back: the server tells the driver why with the next result. */
static void discard(unsigned why) { fsrv_current->persist.slot->discard = why; }

/* The input is done with exit status code: told to the driver (forksrv's protocol), or to the server,
 * which tells the fuzzer (AFL++'s): at once where the put-back can overlap the fuzzer's own work, or
 * on one CPU, where nothing overlaps, with the ready word after it (one wake-up of the server fewer).
 * Either way it is in the slot first, for a child that ends before it tells it. 0 if the peer is gone. */
static int report(struct snap *h, int code) {
  if (!h->parked) return fsrv_direct_report(fsrv_current, h->rep, h->pid, (code & 0xff) << 8);
  uint64_t done = FSRV_PARK_DONE + (uint64_t)(code & 0xff);
  fsrv_current->persist.slot->park_done = done;
  if (h->tell_late) {
    h->done = done;
    return 1;
  }
  return fsrv_park_tell(h->rep, done);
}

/* Put back: waits for the next input (0 if there is none). */
static int next_input(struct snap *h) {
  if (!h->parked) {
    fsrv_direct_peak_reset(&h->peak);
    return fsrv_direct_read(fsrv_current, h->req);
  }
  uint64_t word = h->done + FSRV_PARK_READY;
  h->done = 0;
  return fsrv_park_tell(h->rep, word) && fsrv_park_wait(h->req);
}

static __attribute__((noreturn)) void put_back(void) {
  struct snap *h = snap;
  /* Anything that cannot be put back ends the child after its result went out: the server then
   * asks the driver for the next request again, and forks afresh. The limits before the fds: one an
   * execution lowered could keep a fd of the fork point from coming back. */
  unsigned why = snap_memory_restore(h, 0) < 0  ? FIFO_DISCARD_MEMORY
                 : snap_process_restore(h) < 0 ? FIFO_DISCARD_PROCESS
                 : snap_fds_restore(h) < 0     ? FIFO_DISCARD_FDS
                                               : 0;
  if (why) {
    discard(why);
    sys_exit_group(0);
  }
  if (!next_input(h)) sys_exit_group(0);
  /* The target's signals again, only now that it runs its next input. */
  if (h->blocked_all || h->at_end.blocked != h->mask) sys_sigprocmask(SYS_SIG_SETMASK, &h->mask, 0);
  fsrv_snap_resume(&h->ctx);
}

int fsrv_snapshot_child(void) { return snap && sys_getpid() == snap->pid; }

/* Atomically: a signal handler's own call may come between the load and the store. */
void fsrv_snapshot_touched(unsigned touched) {
  if (fsrv_snapshot_child()) __atomic_or_fetch(&snap->touched, touched, __ATOMIC_RELAXED);
}

void fsrv_snapshot_freed(unsigned long addr, unsigned long len) {
  if (!fsrv_snapshot_child()) return;
  if (snap->nfreed == SNAP_FREED_MAX) {
    snap->touched |= FSRV_TOUCHED_FOREVER;
    return;
  }
  snap->freed[snap->nfreed][0] = addr;
  snap->freed[snap->nfreed++][1] = addr + len;
}

/* What the target's calls change where no wrapper of ours sees it (fsrv_calls_unseen): taken as
 * touched by every execution. */
static unsigned unseen;
void fsrv_snapshot_unseen(unsigned touched) { unseen = touched; }

void fsrv_snapshot_end(int code, int flush) {
  if (!fsrv_snapshot_child()) return;
  if (flush && libc_fflush) libc_fflush(0);
  snap->touched |= unseen;
  unsigned why = snap_process_must_end(snap);
  if (!why && (snap->touched & FSRV_TOUCHED_FOREVER)) why = FIFO_DISCARD_CALL;
  if (!why && snap_memory_shared_changed(snap)) why = FIFO_DISCARD_SHARED;
  if (why) {
    discard(why); /* the exit goes on, and reports the outcome */
    return;
  }
  /* No handler of the target's may run while it is put back (one would find half its memory restored,
   * or end the execution a second time): where it has any, then or now, every signal is blocked until
   * the next input begins. */
  snap->blocked_all = (snap->at_snapshot.caught | snap->at_end.caught) != 0;
  if (snap->blocked_all) {
    uint64_t all = ~0ull;
    sys_sigprocmask(SYS_SIG_BLOCK, &all, 0);
  }
  if (!report(snap, code)) sys_exit_group(0);
  fsrv_snap_on_stack(snap->stack + SNAP_STACK_SIZE, put_back);
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
  /* No fd to ask with, under a low fd limit: the recording then fails and says so, where "no kernel"
   * would misname the cause. */
  if (uffd == -EMFILE || uffd == -ENFILE) return 0;
  unsigned why = FIFO_HELLO_SNAPSHOT_NO_KERNEL;
  if (uffd >= 0) {
    struct sys_uffdio_api api = {SYS_UFFD_API, SYS_UFFD_FEATURE_WP_ASYNC | SYS_UFFD_FEATURE_WP_UNPOPULATED, 0};
    long pm = sys_ioctl((int)uffd, SYS_UFFDIO_API, &api) == 0 ? sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -ENOSYS;
    struct sys_pm_scan_arg a = {.size = sizeof a, .start = 0, .end = 0};
    if (pm == -EMFILE || pm == -ENFILE || (pm >= 0 && sys_ioctl((int)pm, SYS_PAGEMAP_SCAN, &a) >= 0)) why = 0;
    if (pm >= 0) sys_close((int)pm);
    sys_close((int)uffd);
  }
  return why;
}
