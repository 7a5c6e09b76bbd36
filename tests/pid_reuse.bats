#!/usr/bin/env bats
# Pid-reuse safety, for real: in a private PID namespace, a victim process is made to get the pid of
# a child the server just reaped, while the next input hangs into the server's timeout. The kill at
# the timeout must reach the hanging child's group only: the victim lives, and no signal names it.
load helpers

@test "a pid recycled right after its child was reaped is never signalled" {
  [ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace and ns_last_pid"
  command -v strace >/dev/null || skip "strace is not installed"
  unshare --pid --fork --mount-proc true 2>/dev/null || skip "no PID namespaces here"
  run -0 unshare --pid --fork --mount-proc bash "$BATS_TEST_DIRNAME/pid_reuse.sh" "$FORKSRV" "$T/hang" "$BATS_TEST_TMPDIR"
  [[ "${lines[0]}" =~ ^reaped=([0-9]+)\ victim=([0-9]+)\ alive=yes\ signals_to_victim=0$ ]]
  # The victim really did get the reaped child's pid.
  [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
  [[ "${lines[1]}" == *'"result":"timeout","signal":"SIGKILL"'* ]]
}
