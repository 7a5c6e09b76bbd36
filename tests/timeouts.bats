#!/usr/bin/env bats
# The server enforces the timeout itself: a hung, sleeping, stubborn or stopped child is killed at
# the deadline, reported as a timeout, and the next input runs normally.
load helpers

@test "a hanging target is killed at the timeout and reported as a timeout, then the next input runs" {
  same_as_plain -t 200 -i "$(input a hang)" -i "$(input b ok)" -- "$T/hang"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *'"result":"timeout","signal":"SIGKILL"'* ]]
  [[ "${lines[1]}" == *'"result":"exited","exit_code":0'* ]]
  assert_no_leftovers
}

@test "a target that sleeps less than the timeout is not a timeout" {
  same_as_plain -t 2000 -i "$(input a 'sleep 100')" -- "$T/hang"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"result":"exited"'* ]]
}

@test "a target that ignores SIGTERM is still killed at the timeout" {
  same_as_plain -t 200 -i "$(input a stubborn)" -- "$T/hang"
  [[ "$output" == *'"result":"timeout"'* ]]
  assert_no_leftovers
}

@test "a target that stops itself with SIGSTOP is killed at the timeout" {
  same_as_plain -t 200 -i "$(input a stop)" -i "$(input b go)" -- "$T/stops_itself"
  [[ "${lines[0]}" == *'"result":"timeout"'* ]]
  [[ "${lines[1]}" == *'"result":"exited","exit_code":0'* ]]
  assert_no_leftovers
}

@test "a descendant that ends while the target still runs neither ends its execution nor stops the timeout" {
  # The orphaned sleep is the server's to reap (it is their subreaper): its SIGCHLD comes mid-run.
  same_as_plain -t 500 -i "$(input a hang)" -i "$(input b ok)" -- /bin/sh -c \
    'read x; (sleep 0.05 &); sleep 0.2; [ "$x" = hang ] && while :; do :; done; exit 3'
  [[ "${lines[0]}" == *'"result":"timeout"'* ]]
  [[ "${lines[1]}" == *'"result":"exited","exit_code":3'* ]]
  assert_no_leftovers
}

@test "the wall time of a timed-out execution is close to the timeout" {
  run -1 --separate-stderr "$FORKSRV" --json -t 300 -i "$(input a hang)" -- "$T/hang"
  wall=$(grep -o '"wall_us":[0-9]*' <<<"$output" | cut -d: -f2)
  [ "$wall" -ge 300000 ]
  [ "$wall" -lt 3000000 ]
}

@test "-t 0 disables the timeout" {
  same_as_plain -t 0 -i "$(input a 'sleep 300')" -- "$T/hang"
  [[ "$output" == *'"result":"exited"'* ]]
}

@test "a timeout is counted in the summary and makes the exit status 1" {
  run -1 --separate-stderr "$FORKSRV" -t 100 -i "$(input a hang)" -- "$T/hang"
  [ "$output" = "timeout $BATS_TEST_TMPDIR/in/a: no result within 100 ms" ]
  [[ "$stderr" == *'1 execution in '*': 0 exited (0 non-zero), 0 crashed, 1 timed out' ]]
}
