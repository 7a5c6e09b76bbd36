#!/usr/bin/env bats
# Nothing is left behind, on any exit path: no FIFO or directory, no zombie, no orphaned target,
# child or grandchild.
load helpers

@test "after a normal run no FIFO directory and no process of the target remain" {
  run -0 --separate-stderr "$FORKSRV" -n 20 -- "$T/exit_code"
  assert_no_leftovers
}

@test "while a run goes on, no FIFO is on disk: the run's private directory holds the input file alone" {
  local mode
  for mode in stdin @@; do
    "$FORKSRV" -t 0 -i "$(input a.c 'sleep 1000')" -- "$T/hang" ${mode/stdin/} 3>&- &
    local driver=$!
    eventually '[ "$(target_processes | wc -l)" -eq 2 ]'
    run -0 find "$TMPDIR" -mindepth 1
    [ "${#lines[@]}" -eq 3 ]
    [[ "${lines[0]}" == "$TMPDIR/forksrv."?????? ]]
    [[ "${lines[1]}" == "${lines[0]}/"?????? ]]
    [ "${lines[2]}" = "${lines[1]}/input$([ "$mode" = @@ ] && echo .c)" ]
    [ "$(stat -c %a "${lines[0]}")" = 700 ]
    kill -0 "$driver"
    wait "$driver"
    assert_no_leftovers
  done
}

@test "a grandchild left in the target's process group is killed after the execution" {
  export PIDFILE="$BATS_TEST_TMPDIR/pids"
  same_as_plain -i "$(input a group)" -- "$T/grandchild"
  # one grandchild each: run directly, by --no-server and under the server
  [ "$(wc -l <"$PIDFILE")" -eq 3 ]
  [ -z "$(pids_alive "$PIDFILE")" ]
}

@test "a daemon that left with setsid and a double fork is killed after the execution" {
  export PIDFILE="$BATS_TEST_TMPDIR/pids"
  run -0 --separate-stderr "$FORKSRV" --json -i "$(input a daemon)" -i "$(input b none)" -- "$T/grandchild"
  [ "$(wc -l <"$PIDFILE")" -eq 1 ]
  [ -z "$(pids_alive "$PIDFILE")" ]
  assert_no_leftovers
}

@test "the daemon is killed by the server before the next execution starts" {
  export PIDFILE="$BATS_TEST_TMPDIR/pids"
  # The second input sleeps long enough to look around while the driver is still running.
  "$FORKSRV" -t 0 -i "$(input a daemon)" -i "$(input b 'sleep 1500')" -- /bin/sh -c \
    'read what; case $what in daemon) echo daemon | '"$T"'/grandchild ;; *) sleep 1.5 ;; esac' 3>&- &
  local driver=$!
  sleep 0.8
  [ "$(wc -l <"$PIDFILE")" -eq 1 ]
  [ -z "$(pids_alive "$PIDFILE")" ]
  wait "$driver"
}

@test "--no-server cleans up after every execution as the server does: no daemon lives on, no zombie waits" {
  export PIDFILE="$BATS_TEST_TMPDIR/pids"
  "$FORKSRV" --no-server -t 0 -n 30 -i "$(input a daemon)" -i "$(input b 'sleep 1500')" -- /bin/sh -c \
    'read what; case $what in daemon) echo daemon | '"$T"'/grandchild ;; *) sleep 1.5 ;; esac' 3>&- &
  local driver=$!
  sleep 1
  [ "$(wc -l <"$PIDFILE")" -eq 30 ]
  [ -z "$(pids_alive "$PIDFILE")" ]
  # No zombie whose parent is the driver or its child (the helper is their subreaper and reaps them).
  local below
  below=" $driver $(pgrep -P "$driver" | tr '\n' ' ')"
  [ -z "$(ps -eo stat=,ppid= | awk -v below="$below" '$1 ~ /^Z/ && index(below, " " $2 " ")')" ]
  wait "$driver"
  assert_no_leftovers
}

@test "SIGINT stops the driver cleanly: summary printed, exit 130, nothing left" {
  "$FORKSRV" -t 0 -n 1000 -i "$(input a 'sleep 100')" -- "$T/hang" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  local driver=$!
  eventually '[ "$(target_processes | wc -l)" -eq 2 ]'
  kill -INT "$driver"
  local rc=0
  wait "$driver" || rc=$?
  [ "$rc" -eq 130 ]
  grep -q '^forksrv: [0-9]* executions in ' "$BATS_TEST_TMPDIR/err"
  assert_no_leftovers
}

@test "SIGTERM during a hung execution stops the driver with exit 143 and kills the child" {
  "$FORKSRV" -t 0 -i "$(input a hang)" -- "$T/hang" 2>/dev/null 3>&- &
  local driver=$!
  eventually '[ "$(target_processes | wc -l)" -eq 2 ]'
  kill -TERM "$driver"
  local rc=0
  wait "$driver" || rc=$?
  [ "$rc" -eq 143 ]
  assert_no_leftovers
}

@test "SIGKILL of the driver mid-run: the server notices, kills its child and exits" {
  "$FORKSRV" -t 0 -i "$(input a hang)" -- "$T/hang" 2>/dev/null 3>&- &
  local driver=$!
  eventually '[ "$(target_processes | wc -l)" -eq 2 ]'
  kill -KILL "$driver"
  wait "$driver" || true
  assert_no_leftovers
}

@test "SIGKILL of the driver before the handshake leaves no target running and nothing on disk" {
  "$FORKSRV" --startup-timeout 10000 -- "$T/hangs_early" 3>&- 2>/dev/null &
  local driver=$!
  eventually '[ -n "$(target_processes)" ]'
  kill -KILL "$driver"
  wait "$driver" || true
  assert_no_leftovers
}

@test "when the server dies, the driver says so and exits 2 without leftovers" {
  run -2 --separate-stderr "$FORKSRV" -i "$(input a 1)" -- /bin/sh -c 'kill -9 $PPID'
  [[ "$stderr" == "forksrv: server died (killed by SIGKILL)"* ]]
  assert_no_leftovers
}

@test "SIGINT and SIGTERM before the handshake stop the driver with 130 and 143, leaving nothing" {
  local sig code rc
  for sig in INT TERM; do
    "$FORKSRV" --startup-timeout 10000 -- "$T/hangs_early" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    local driver=$!
    eventually '[ -n "$(target_processes)" ]'
    kill -"$sig" "$driver"
    rc=0
    wait "$driver" || rc=$?
    code=$([ "$sig" = INT ] && echo 130 || echo 143)
    [ "$rc" -eq "$code" ]
    assert_no_leftovers
  done
}
