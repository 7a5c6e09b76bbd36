/* Persistent mode (forksrv_loop()), the server side, all of it: a child runs several inputs. Two
 * mechanisms. Parking, for AFL++'s protocol: the child says "input done" on an eventfd and waits on
 * another for the next, and the server reports it stopped. Direct, for forksrv's own protocol: the
 * child reads requests and writes results itself, recording in a page shared with the server which
 * input it runs, so that the server can still enforce each input's timeout and report its end. */
#include "../fifo/protocol.h"
#include "server.h"

/* Persistent children say "input done" through loop_fd and wait on go_fd for the next: two eventfd
 * words, where a stop and a continue would cost signals, a wait4 and more wake-ups. The children
 * keep them, so they sit up with the server's other fds. Without them (an old kernel),
 * forksrv_loop() runs one input per child. */
void fsrv_persist_setup(struct fsrv *s) {
  long loop = sys_eventfd(SYS_EFD_CLOEXEC | SYS_EFD_NONBLOCK), go = sys_eventfd(SYS_EFD_CLOEXEC);
  if (loop < 0 || go < 0) {
    if (loop >= 0) sys_close((int)loop);
    if (go >= 0) sys_close((int)go);
    return;
  }
  s->persist.loop_fd = fsrv_move_up((int)loop, FSRV_HIGH_FD);
  s->persist.go_fd = fsrv_move_up((int)go, FSRV_HIGH_FD);
  unsigned char cpus[128];
  long n = sys3(__NR_sched_getaffinity, 0, sizeof cpus, cpus);
  unsigned count = 0;
  for (long i = 0; i < n; i++)
    for (unsigned bits = cpus[i]; bits; bits &= bits - 1) count++;
  s->persist.one_cpu = count == 1;
}

/* The child for the next input: the persistent one parked after the last input (live, 0 if none),
 * sent on, or else a fresh fork. Returns as fsrv_fork does. */
long fsrv_next_child(struct fsrv *s, int live) {
  if (s->persist.went != (live != 0)) s->persist.went = live != 0;
  if (!live) return fsrv_fork(s);
  uint64_t one = 1;
  sys_write(s->persist.go_fd, &one, sizeof one);
  return live;
}

/* A go word sent to a child that died before taking it must not send the next child's second
 * input on its way before the server has one. */
void fsrv_drop_unused_go(struct fsrv *s) {
  if (!s->persist.went) return;
  struct pollfd go = {s->persist.go_fd, POLLIN, 0};
  struct timespec now = {0, 0};
  uint64_t count;
  if (sys_ppoll(&go, 1, &now) == 1) sys_read(s->persist.go_fd, &count, sizeof count);
}

long fsrv_persist_slot(struct fsrv *s) {
  long page = sys_mmap_shared_page();
  s->persist.slot = (unsigned long)page > -4096ul ? 0 : (struct fsrv_slot *)page;
  return s->persist.slot ? 0 : page;
}

/* The ready word comes after the put-back, which runs while the fuzzer reads the last outcome: by
 * the next request it has usually come. A child that ends instead was discarded (or killed). */
int fsrv_parked_ready(struct fsrv *s, int pid) {
  /* loop_fd does not block: one read when the word is there already. */
  uint64_t first = 0;
  if (sys_read(s->persist.loop_fd, &first, sizeof first) == sizeof first && (first & FSRV_PARK_READY)) return 1;
  struct pollfd fds[3] = {{s->persist.loop_fd, POLLIN, 0}, {fsrv_child_end_fd(s), POLLIN, 0}, {s->req, 0, 0}};
  for (;;) {
    long r = sys_ppoll(fds, 3, 0);
    if (r == -EINTR) continue;
    if (r > 0 && fds[2].revents) fsrv_peer_gone(s, pid);
    uint64_t word = 0;
    if (r > 0 && fds[0].revents) sys_read(s->persist.loop_fd, &word, sizeof word);
    if (word & FSRV_PARK_READY) return 1;
    struct fsrv_exec ex = {0};
    if (r < 0 || (fds[1].revents && fsrv_ended(s, pid, &ex))) {
      if (r < 0) {
        fsrv_kill_child(pid);
        fsrv_reap(s, pid, &ex.status, &ex.ru);
      }
      fsrv_sweep(s);
      fsrv_fds_restore(s);
      return 0;
    }
  }
}

int fsrv_parked_spoke(struct fsrv *s) {
  if (s->persist.loop_fd < 0) return 0;
  struct pollfd fds[2] = {{s->persist.loop_fd, POLLIN, 0}, {s->req, 0, 0}};
  struct timespec now = {0, 0}; /* no timer armed: a guest's timer costs it an exit to the host */
  long r;
  do r = sys_ppoll(fds, 2, &now);
  while (r == -EINTR);
  return r > 0;
}

/* Input seq starts now, under its timeout: as the server records it before the fork. */
void fsrv_slot_begin(struct fsrv_slot *slot, uint32_t seq, uint32_t timeout_ms, uint64_t started_us) {
  slot->start_us = started_us;
  /* A fresh child's, if it forks one. */
  slot->utime_base = slot->stime_base = slot->rss_extra_kb = slot->peak_kb = slot->last_peak_kb = 0;
  slot->timeout_ms = timeout_ms;
  __atomic_store_n(&slot->word, FSRV_SLOT_WORD(seq, FSRV_RUNNING), __ATOMIC_RELEASE);
}

/* While a direct child is between inputs the server cannot know when the next starts: it looks this
 * often, and then sleeps until that input's deadline. */
#define DIRECT_LOOK_MS 50

uint64_t fsrv_await_direct(struct fsrv *s, int pid, struct fsrv_exec *ex) {
  struct pollfd fds[2] = {{fsrv_child_end_fd(s), POLLIN, 0}, {s->req, 0, 0}};
  struct fsrv_slot *slot = s->persist.slot;
  uint32_t look_ms = DIRECT_LOOK_MS;
  uint64_t word;
  ex->timed_out = 0;
  ex->stopped = 0;
  ex->wait_error = 0;
  for (;;) {
    word = __atomic_load_n(&slot->word, __ATOMIC_ACQUIRE);
    uint64_t start = slot->start_us, wait_us = (uint64_t)look_ms * 1000;
    uint32_t timeout_ms = slot->timeout_ms;
    if (timeout_ms && timeout_ms < look_ms) look_ms = timeout_ms;
    if (FSRV_SLOT_STATE(word) == FSRV_RUNNING && timeout_ms) {
      uint64_t now = fsrv_now_us(), deadline = start + (uint64_t)timeout_ms * 1000;
      if (now >= deadline) {
        uint64_t killed = FSRV_SLOT_WORD(FSRV_SLOT_SEQ(word), FSRV_KILLED);
        /* The child may have finished that input meanwhile: then its result stands. */
        if (!__atomic_compare_exchange_n(&slot->word, &word, killed, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        word = killed;
        fsrv_kill_child(pid);
        ex->wait_error = fsrv_reap(s, pid, &ex->status, &ex->ru);
        ex->timed_out = 1;
        break;
      }
      /* No longer than a look: a snapshot child moves its input's start once it has recorded itself. */
      if (deadline - now < wait_us) wait_us = deadline - now;
    }
    struct timespec left = {(long)(wait_us / 1000000), (long)(wait_us % 1000000) * 1000};
    long r = sys_ppoll(fds, 2, &left);
    if (r == -EINTR || r == 0) continue;
    if (r > 0 && fds[1].revents) fsrv_peer_gone(s, pid);
    if (r > 0 && fsrv_ended(s, pid, ex)) break;
    if (r > 0) continue;
    fsrv_kill_child(pid);
    ex->wait_error = fsrv_reap(s, pid, &ex->status, &ex->ru);
    break;
  }
  word = __atomic_load_n(&slot->word, __ATOMIC_ACQUIRE);
  ex->wall_us = fsrv_now_us() - slot->start_us;
  fsrv_sweep(s);
  fsrv_fds_restore(s);
  return word;
}

/* The child's side of a direct persistent loop. Its FIFOs were closed when it became the target; it
 * opens them again, as the server did, through the server's own fds. */
static int reopen(int pid, int fd, int flags) {
  char path[48];
  fsrv_proc_fd_path(pid, fd, path);
  struct fsrv_why why = {0, 0};
  return (int)fsrv_open_fifo(path, flags, &why);
}

void fsrv_direct_channel(struct fsrv *s, int *req, int *rep) {
  *req = reopen(s->pid, s->req, O_RDONLY);
  *rep = *req < 0 ? -1 : reopen(s->pid, s->rep, O_WRONLY);
}

int fsrv_direct_report(struct fsrv *s, int rep, int pid, int status) {
  struct fsrv_slot *slot = s->persist.slot;
  uint64_t word = __atomic_load_n(&slot->word, __ATOMIC_ACQUIRE);
  uint32_t seq = FSRV_SLOT_SEQ(word);
  uint64_t reporting = FSRV_SLOT_WORD(seq, FSRV_REPORTING);
  if (FSRV_SLOT_STATE(word) != FSRV_RUNNING ||
      !__atomic_compare_exchange_n(&slot->word, &word, reporting, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    /* The deadline struck first: the server is killing this child and reports the input. */
    for (;;) sys_ppoll(0, 0, 0);
  }
  uint64_t now = fsrv_now_us();
  struct fifo_result res = {.seq = seq, .pid = pid, .status = status, .reason = FIFO_EXITED, .wall_us = now - slot->start_us};
  /* What this input alone used, as wait4 tells of a fresh child: the CPU time since it began (the next
   * input's begins now), the peak memory since the last report reset it. */
  struct rusage ru;
  if (sys2(__NR_getrusage, 0 /* RUSAGE_SELF */, &ru) == 0) {
    uint64_t u = fsrv_tv_us(&ru.ru_utime), st = fsrv_tv_us(&ru.ru_stime), rss = (uint64_t)ru.ru_maxrss;
    res.utime_us = u - slot->utime_base;
    res.stime_us = st - slot->stime_base;
    res.maxrss_kb = rss > slot->rss_extra_kb ? rss - slot->rss_extra_kb : 0;
    slot->peak_kb = rss;
    slot->utime_base = u;
    slot->stime_base = st;
  }
  unsigned char buf[FIFO_RESULT_SIZE];
  fifo_encode_result(buf, &res);
  if (fsrv_write_full(rep, buf, FIFO_RESULT_SIZE) != FIFO_RESULT_SIZE) return 0;
  __atomic_store_n(&slot->word, FSRV_SLOT_WORD(seq, FSRV_READING), __ATOMIC_RELEASE);
  return 1;
}

int fsrv_direct_read(struct fsrv *s, int req) {
  struct fsrv_slot *slot = s->persist.slot;
  uint32_t seq = FSRV_SLOT_SEQ(__atomic_load_n(&slot->word, __ATOMIC_ACQUIRE));
  unsigned char buf[FIFO_REQUEST_SIZE];
  struct fifo_request rq;
  do {
    if (fsrv_read_full(req, buf, FIFO_REQUEST_SIZE) != FIFO_REQUEST_SIZE || fifo_decode_request(buf, &rq) < 0) {
      __atomic_store_n(&slot->word, FSRV_SLOT_WORD(seq, FSRV_GONE), __ATOMIC_RELEASE);
      return 0;
    }
  } while ((int32_t)(rq.seq - seq) <= 0); /* sent again after a FIFO_RESEND, and run already */
  slot->start_us = fsrv_now_us();
  slot->timeout_ms = rq.timeout_ms;
  __atomic_store_n(&slot->word, FSRV_SLOT_WORD(rq.seq, FSRV_RUNNING), __ATOMIC_RELEASE);
  return 1;
}

void fsrv_direct_peak_reset(int *fd) {
  /* Where the peak did not change, it has not grown since it was last counted afresh: no need. */
  struct fsrv_slot *slot = fsrv_current->persist.slot;
  if (slot->peak_kb == slot->last_peak_kb) return;
  slot->last_peak_kb = slot->peak_kb;
  if (*fd == -1) {
    long r = sys_open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    *fd = r < 0 ? -2 : fsrv_move_up((int)r, FSRV_HIGH_FD);
  }
  if (*fd >= 0) sys_write(*fd, "5", 1); /* 5: the peak resident size becomes the current one */
}

int fsrv_native_next(struct fsrv *s) {
  static int req = -1, rep = -1, peak = -1, pid, tried;
  if (!tried) {
    tried = 1;
    pid = (int)sys_getpid();
    fsrv_direct_channel(s, &req, &rep);
  }
  /* Without them: one input per child, as without persistent mode. */
  if (req < 0 || rep < 0) return 0;
  if (!fsrv_direct_report(s, rep, pid, 0)) sys_exit_group(0);
  fsrv_direct_peak_reset(&peak);
  if (!fsrv_direct_read(s, req)) sys_exit_group(0);
  return 1;
}

int fsrv_park_tell(int loop_fd, uint64_t word) { return sys_write(loop_fd, &word, sizeof word) == sizeof word; }

int fsrv_park_wait(int go_fd) {
  uint64_t word;
  long r;
  do r = sys_read(go_fd, &word, sizeof word);
  while (r == -EINTR);
  return r == sizeof word;
}

int fsrv_persist_next(struct fsrv *s) {
  if (s->persist.slot) return fsrv_native_next(s);
  if (s->persist.loop_fd < 0) return 0;
  fsrv_park_tell(s->persist.loop_fd, FSRV_PARK_DONE);
  return fsrv_park_wait(s->persist.go_fd);
}
