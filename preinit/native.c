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

static uint64_t tv_us(const struct __kernel_old_timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

void fsrv_native_loop(struct fsrv *s) {
  unsigned char buf[FIFO_RESULT_SIZE];
  struct fifo_hello hello = {
      .version = FIFO_PROTOCOL_VERSION,
      .features = FIFO_FEAT_TIMEOUT | FIFO_FEAT_RUSAGE | FIFO_FEAT_SWEEP,
      .pid = s->pid,
      .start = s->start,
  };
  fifo_encode_hello(buf, &hello);
  if (fsrv_write_full(s->rep, buf, FIFO_HELLO_SIZE) != FIFO_HELLO_SIZE) fsrv_peer_gone(s, 0);
  /* A persistent child that stopped itself after its input, waiting to be continued for the next. */
  int live = 0, live_pidfd = -1;
  for (;;) {
    struct fifo_request req;
    /* EOF, an error or a malformed request all end the server: the driver that sent it is not one
     * this server can serve, and its side sees the FIFO close. */
    if (fsrv_read_full(s->req, buf, FIFO_REQUEST_SIZE) != FIFO_REQUEST_SIZE) fsrv_peer_gone(s, live);
    if (fifo_decode_request(buf, &req) < 0) fsrv_peer_gone(s, live);

    struct fifo_result res = {.seq = req.seq};
    int pidfd = -1;
    uint64_t started = fsrv_now_us();
    long pid = fsrv_next_child(s, live, live_pidfd, &pidfd);
    if (pid == 0) return;
    live = 0;
    if (pid < 0) {
      res.reason = FIFO_FORK_FAILED;
      res.error = (int32_t)pid;
    } else {
      struct fsrv_exec ex;
      fsrv_await(s, (int)pid, pidfd, req.timeout_ms, started, &ex);
      res.pid = (int32_t)pid;
      res.status = ex.stopped ? 0 : ex.status; /* an input done in persistent mode: as if it exited 0 */
      res.reason = reason_of(&res, &ex);
      res.wall_us = ex.wall_us;
      res.utime_us = tv_us(&ex.ru.ru_utime);
      res.stime_us = tv_us(&ex.ru.ru_stime);
      res.maxrss_kb = (uint64_t)ex.ru.ru_maxrss;
      if (ex.stopped) live = (int)pid, live_pidfd = pidfd;
    }
    fifo_encode_result(buf, &res);
    if (fsrv_write_full(s->rep, buf, FIFO_RESULT_SIZE) != FIFO_RESULT_SIZE) fsrv_peer_gone(s, live);
  }
}
