/* Centipede's runner protocol, unchanged, so Centipede users can preload forksrv instead of linking
 * its runner: one trigger byte in, the child's 4-byte int wait status out, no hello and no timeout
 * (Centipede enforces its own). Newer Centipede expects the trigger byte echoed right after the fork;
 * FORKSRV_CENTIPEDE_ACK=1 chooses that framing, since nothing on the wire says which one a peer speaks. */
#include "server.h"

void fsrv_centipede_loop(struct fsrv *s, int ack, int first) {
  /* Centipede runs one input per process: a persistent target here runs one per child (no parking
   * fds, no shared page: forksrv_loop() says there is no next input). */
  /* Its runner maps the engine's shared memory (inputs in, features out) in each child, after the
   * fork point, and starts a watchdog thread there: a snapshot child would be discarded after every
   * batch. docs/protocols.md says what it would take. */
  if (s->reset_snapshot) {
    static const char *const line[] = {"forksrv: warning: snapshot reset is not offered under Centipede's protocol "
                                       "(its runner maps the engine's shared memory in each child): each batch gets a fresh fork", 0};
    fsrv_say_line(line);
  }
  for (;;) {
    char trigger = (char)first;
    /* The first trigger may have come while the FIFO was checked for a writer. */
    if (first < 0 && fsrv_read_full(s->req, &trigger, 1) != 1) fsrv_peer_gone(s, 0);
    first = -1;
    long pid = fsrv_fork(s);
    if (pid == 0) {
      /* As Centipede's own runner does: each execution's output starts afresh. */
      for (int fd = 1; fd <= 2; fd++) {
        sys_lseek(fd, 0, 0);
        sys_ftruncate(fd, 0);
      }
      return;
    }
    /* Centipede's runner also gives up when fork fails: its controller sees the FIFO close. */
    if (pid < 0) fsrv_peer_gone(s, 0);
    if (ack && fsrv_write_full(s->rep, &trigger, 1) != 1) fsrv_peer_gone(s, (int)pid);
    struct fsrv_exec ex;
    fsrv_await(s, (int)pid, 0, 0, &ex);
    if (ex.wait_error) fsrv_peer_gone(s, 0); /* no status to give: Centipede sees the FIFO close */
    if (fsrv_write_full(s->rep, &ex.status, sizeof ex.status) != sizeof ex.status) fsrv_peer_gone(s, 0);
  }
}
