#!/usr/bin/env bats
# Whatever a target does before its fork point (here in a constructor, with the server at main), the
# server still sees each execution end, at once, with its true status, and touches nothing the target
# started: each outcome is the direct run's, and no execution waits for its timeout.
load helpers

# at_once BEFORE: the direct run's outcomes, under --start main and a 10 s timeout that no execution
# comes near, and again without a timeout.
at_once() {
  local c wall
  c=$(corpus 5 0 7)
  BEFORE=$1 same_as_plain --start main -t 10000 -n 2 -i "$c" -- "$T/before_fork"
  [ "$(grep -c '"result":"exited"' <<<"$output")" -eq 6 ]
  for wall in $(grep -o '"wall_us":[0-9]*' <<<"$output" | cut -d: -f2); do
    [ "$wall" -lt 1000000 ]
  done
  BEFORE=$1 run -0 --separate-stderr timeout 20 "$FORKSRV" --start main -t 0 -n 50 -i "$c" -- "$T/before_fork"
  [[ "${stderr_lines[-1]}" == *"150 executions in "*"150 exited (100 non-zero), 0 crashed, 0 timed out" ]]
}

@test "a target that sets SIGCHLD to SIG_IGN keeps that disposition in every child, and the server sees each end" {
  at_once sigign
}

@test "a target that sets SA_NOCLDWAIT on SIGCHLD keeps it in every child, and the server sees each end" {
  at_once nocldwait
}

@test "a thread running at the fork point, which SIGCHLD may go to, does not make an execution wait for its timeout" {
  at_once thread
}

@test "a process the target started before its fork point lives on through every execution, and is gone after the run" {
  at_once helper
  [ -z "$(target_processes)" ]
}

@test "a program a constructor runs before the fork point starts no server of its own" {
  export BEFORE_CMD="$T/exit_code </dev/null"
  at_once system
}

@test "a child that the target's own thread reaps first is an error naming the cause, never a made-up status" {
  local line
  BEFORE=reaper run --separate-stderr "$FORKSRV" --json --start main -t 10000 -n 40 -i "$(input a 5)" -- "$T/before_fork"
  [ "${#lines[@]}" -eq 40 ]
  for line in "${lines[@]}"; do
    [[ "$line" == *'"result":"exited","exit_code":5,'* || "$line" == *'"result":"error","error":"wait for pid '[0-9]*': No child processes"'* ]]
  done
  if grep -q '"result":"error"' <<<"$output"; then
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"forksrv: wait for the child of $BATS_TEST_TMPDIR/in/a (pid "*"): No child processes (the target's own code reaped it, or made the kernel do so)"* ]]
  fi
}
