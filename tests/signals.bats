#!/usr/bin/env bats
# Only the process that reaps a child signals it, and only before reaping it: traced for real with
# strace over executions that time out, crash, and leave grandchildren and daemons behind.
load helpers

@test "only the server signals target processes, and never one it has already reaped" {
  command -v strace >/dev/null || skip "strace is not installed"
  export PIDFILE="$BATS_TEST_TMPDIR/pids"
  run -1 --separate-stderr strace -f -qq -o "$BATS_TEST_TMPDIR/trace" -e trace=kill,tgkill,pidfd_send_signal,wait4,clone,clone3 \
    "$FORKSRV" -v -t 200 -i "$(input a group)" -i "$(input b daemon)" -i "$(input c hang)" \
    -i "$(input d none)" -i "$(input e group)" -- /bin/sh -c 'read x; case $x in hang) while :; do :; done ;; *) echo $x | '"$T"'/grandchild ;; esac'
  local server
  server=$(sed -n 's/^forksrv: fork server pid \([0-9]*\) started.*/\1/p' <<<"$stderr")
  [ -n "$server" ]
  # The trace as events, in order: C pid (a fork made pid), W pid (pid reaped), K by target signal.
  sed -nE -e 's/^[0-9]+ +(<\.\.\. )?clone3?( resumed>|\().*= ([0-9]+)$/C \3/p' \
    -e 's/^[0-9]+ +(<\.\.\. )?wait4( resumed>|\().*= ([0-9]+)$/W \3/p' \
    -e 's/^([0-9]+) +kill\((-?[0-9]+), (SIG[A-Z]+)\).*/K \1 \2 \3/p' "$BATS_TEST_TMPDIR/trace" >"$BATS_TEST_TMPDIR/events"
  run -0 awk -v server="$server" '
    $1 == "C" { delete reaped[$2] }
    $1 == "W" { reaped[$2] = 1 }
    $1 == "K" {
      target = $3 < 0 ? -$3 : $3
      sent++
      if ($2 != server) { print "signal " $4 " to " $3 " sent by " $2 ", not the server"; bad++ }
      if (target in reaped) { print "signal " $4 " to " $3 " after it was reaped"; bad++ }
    }
    END { print sent + 0 " signals"; exit bad ? 1 : (sent ? 0 : 2) }' "$BATS_TEST_TMPDIR/events"
  [[ "$output" =~ ^[0-9]+\ signals$ ]]
  assert_no_leftovers
}
