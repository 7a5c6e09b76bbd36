/* forksrv's own protocol (fifo/protocol.h): a hello, then one fixed-size request in and one
 * fixed-size result out per execution. The results say what a shell would learn from wait4, plus
 * whether the server's deadline struck, the wall time and the child's rusage. */
#include "../fifo/protocol.h"
#include "server.h"

static uint32_t reason_of(const struct fifo_result *res, const struct fsrv_exec *ex) {
  int sig = res->status & 0x7f;
  if (sig == 0) return FIFO_EXITED;
  if (ex->timed_out && sig == SYS_SIGKILL) return FIFO_TIMED_OUT;
  return FIFO_SIGNALLED;
}

static void send_result(struct fsrv *s, struct fifo_result *res, int live) {
  unsigned char buf[FIFO_RESULT_SIZE];
  fifo_encode_result(buf, res);
  if (fsrv_write_full(s->rep, buf, FIFO_RESULT_SIZE) != FIFO_RESULT_SIZE) fsrv_peer_gone(s, live);
}

static void fill_exec(struct fifo_result *res, int pid, const struct fsrv_exec *ex) {
  res->pid = pid;
  if (ex->wait_error) {
    res->reason = FIFO_WAIT_FAILED;
    res->error = (int32_t)ex->wait_error;
    return;
  }
  res->status = ex->status;
  res->reason = reason_of(res, ex);
  res->wall_us = ex->wall_us;
  res->utime_us = fsrv_tv_us(&ex->ru.ru_utime);
  res->stime_us = fsrv_tv_us(&ex->ru.ru_stime);
  res->maxrss_kb = (uint64_t)ex->ru.ru_maxrss;
}

/* A child that may run many inputs (forksrv_loop) has ended: report the input it ended on, or ask for
 * the request it may have taken with it. A snapshot child that could not record its state says why,
 * once: snapshot reset is off from the next input on. */
static void report_direct_end(struct fsrv *s, int pid, uint64_t word, const struct fsrv_exec *ex) {
  struct fifo_result res = {.seq = FSRV_SLOT_SEQ(word)};
  fill_exec(&res, pid, ex);
  /* wait4 counts the child's whole life: this input's is what came after its start. */
  struct fsrv_slot *slot = s->persist.slot;
  res.utime_us = res.utime_us > slot->utime_base ? res.utime_us - slot->utime_base : 0;
  res.stime_us = res.stime_us > slot->stime_base ? res.stime_us - slot->stime_base : 0;
  res.maxrss_kb = res.maxrss_kb > slot->rss_extra_kb ? res.maxrss_kb - slot->rss_extra_kb : 0;
  if (s->snapshot && s->persist.slot->record_failure) {
    res.record_failure = s->persist.slot->record_failure;
    res.record_error = -(int32_t)s->persist.slot->record_error;
    s->snapshot = 0;
  }
  if (slot->discard) {
    res.discard = slot->discard;
    slot->discard = 0;
  }
  switch (FSRV_SLOT_STATE(word)) {
  case FSRV_GONE: fsrv_peer_gone(s, 0);
  case FSRV_READING:
    res.seq++;
    res.reason = FIFO_RESEND;
    break;
  case FSRV_RUNNING:
    /* A CPU time limit counts all of a process's life: a snapshot child's earlier inputs (and its
     * recording) count against this one, which a fresh fork's would not. Its SIGXCPU may be false, and
     * so may a SIGKILL the server did not send (the limit's hard one, which `ulimit -t` sets too): the
     * input runs again, in a fresh fork. */
    if (s->snapshot_child && res.reason == FIFO_SIGNALLED &&
        ((res.status & 0x7f) == 24 /* SIGXCPU */ || (res.status & 0x7f) == SYS_SIGKILL)) {
      res.reason = FIFO_RETRY;
      s->plain_next = 1;
    }
    break;
  }
  send_result(s, &res, 0);
}

void fsrv_native_loop(struct fsrv *s, int first) {
  unsigned char buf[FIFO_REQUEST_SIZE > FIFO_HELLO_SIZE ? FIFO_REQUEST_SIZE : FIFO_HELLO_SIZE];
  struct fifo_hello hello = {
      .version = FIFO_PROTOCOL_VERSION,
      .features = FIFO_FEAT_TIMEOUT | FIFO_FEAT_RUSAGE | FIFO_FEAT_SWEEP,
      .pid = s->pid,
      .start = s->start,
      .threads = s->threads > 1 ? (uint32_t)s->threads : 1,
      .flags = s->hello_flags,
      .shared_fds = s->shared_fds,
  };
  for (unsigned i = 0; s->call && s->call[i] && i + 1 < FIFO_CALL_MAX; i++) hello.call[i] = s->call[i];
  /* Snapshot children are direct ones: they report and read requests themselves between inputs. */
  fsrv_persist_slot(s);
  if (s->reset_snapshot) {
    unsigned why = s->persist.slot ? fsrv_snapshot_probe() : FIFO_HELLO_SNAPSHOT_NO_KERNEL;
    s->snapshot = !why;
    hello.flags |= why ? why : FIFO_HELLO_SNAPSHOT;
  }
  fifo_encode_hello(buf, &hello);
  /* A driver of this protocol writes nothing before our hello. */
  if (first >= 0) fsrv_peer_gone(s, 0);
  if (fsrv_write_full(s->rep, buf, FIFO_HELLO_SIZE) != FIFO_HELLO_SIZE) fsrv_peer_gone(s, 0);
  /* The last request run, here or by a direct child: a request sent again after a FIFO_RESEND that
   * was not lost after all comes a second time, and runs once. Serial arithmetic: seqs wrap. */
  uint32_t last_seq = 0;
  int have_last = 0;
  for (;;) {
    struct fifo_request req;
    /* EOF, an error or a malformed request all end the server: the driver that sent it is not one
     * this server can serve, and its side sees the FIFO close. */
    if (fsrv_read_full(s->req, buf, FIFO_REQUEST_SIZE) != FIFO_REQUEST_SIZE) fsrv_peer_gone(s, 0);
    if (fifo_decode_request(buf, &req) < 0) fsrv_peer_gone(s, 0);
    if (have_last && (int32_t)(req.seq - last_seq) <= 0) continue;
    last_seq = req.seq;
    have_last = 1;

    struct fifo_result res = {.seq = req.seq};
    uint64_t started = fsrv_now_us();
    if (s->persist.slot) fsrv_slot_begin(s->persist.slot, req.seq, req.timeout_ms, started);
    /* Stored only when they change: after a fork each page of the server is copy-on-write, and a
     * store costs it a fault. */
    int snapshot_child = s->snapshot && !s->plain_next;
    if (s->snapshot_child != snapshot_child) s->snapshot_child = snapshot_child;
    if (s->plain_next) s->plain_next = 0;
    long pid = fsrv_fork(s);
    if (pid == 0) {
      if (s->snapshot_child) fsrv_snapshot_take(s);
      return;
    }
    struct fsrv_exec ex;
    if (pid < 0) {
      res.reason = FIFO_FORK_FAILED;
      res.error = (int32_t)pid;
    } else if (s->persist.slot) {
      uint64_t word = fsrv_await_direct(s, (int)pid, &ex);
      last_seq = FSRV_SLOT_SEQ(word);
      report_direct_end(s, (int)pid, word, &ex);
      continue;
    } else {
      fsrv_await(s, (int)pid, req.timeout_ms, started, &ex);
      fill_exec(&res, (int)pid, &ex);
    }
    send_result(s, &res, 0);
  }
}
