#!/usr/bin/env bats
# -j N: N targets side by side, each with its own fork server (or, with --no-server, its own
# fork+exec), each pinned to its own core; inputs go to whichever is free, results come out in input
# order, and the summary counts them all.
load helpers

mixed_corpus() { corpus 0 3 segv 0 abort 7 hang 0 0 255 segv 0 1 2; }

@test "-j 2 gives plain fork+exec's outcomes in input order, persistent children, crashes and a timeout included" {
  local corpus
  corpus=$(mixed_corpus)
  same_as_plain -j 2 -t 300 -i "$corpus" -- "$T/persistent"
  [ "$status" -eq 1 ]
  local two="$output"
  run -1 --separate-stderr "$FORKSRV" --json -t 300 -i "$corpus" -- "$T/persistent"
  [ "$(outcomes <<<"$two")" = "$(outcomes <<<"$output")" ]
  [[ "${lines[6]}" == *'"result":"timeout"'* ]]
  [ "${#lines[@]}" -eq 14 ]
}

@test "-j 2 runs two executions at once, with the server and with --no-server" {
  # (Not against a direct run: run one after the other, the two inputs would never meet.)
  local mode
  for mode in --json --no-server; do
    rm -rf "$BATS_TEST_TMPDIR/meet"
    mkdir "$BATS_TEST_TMPDIR/meet"
    MEET_DIR="$BATS_TEST_TMPDIR/meet" MEET_N=2 run -0 --separate-stderr "$FORKSRV" --json $mode -j 2 -t 5000 \
      -i "$(input a a)" -i "$(input b b)" -- "$T/meet"
    [ "$(grep -c '"exit_code":0' <<<"$output")" -eq 2 ]
  done
}

@test "-j 1 runs one at a time: the same target then meets nobody" {
  mkdir "$BATS_TEST_TMPDIR/meet"
  MEET_DIR="$BATS_TEST_TMPDIR/meet" MEET_N=2 run -0 --separate-stderr "$FORKSRV" --json -t 5000 -i "$(input a a)" -- "$T/meet"
  [[ "$output" == *'"exit_code":3'* ]]
}

@test "-j 2 starts two servers, each pinned to its own core of --cpu's list" {
  "$FORKSRV" -j 2 --cpu 0,1 -t 0 -i "$(input a 'sleep 3000')" -i "$(input b 'sleep 3000')" -- "$T/hang" 3>&- &
  local driver=$! pids=""
  for _ in $(seq 50); do
    pids=$(pgrep -f "^$T/hang" -P "$driver" | sort -n | tr '\n' ' ')
    [ "$(wc -w <<<"$pids")" -eq 2 ] && break
    sleep 0.1
  done
  [ "$(wc -w <<<"$pids")" -eq 2 ]
  local cpus=""
  for p in $pids; do cpus="$cpus$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$p/status") "; done
  [ "$(tr ' ' '\n' <<<"$cpus" | sort | tr '\n' ' ')" = " 0 1 " ]
  kill -TERM "$driver"
  wait "$driver" || true
}

@test "-j 2 drives each server from a thread of its own, on that server's core" {
  [ "$(nproc)" -ge 2 ] || skip "needs 2 cores"
  "$FORKSRV" -j 2 --cpu 0,1 -t 0 -i "$(input a 'sleep 3000')" -i "$(input b 'sleep 3000')" -- "$T/hang" 3>&- &
  local driver=$! cpus=""
  for _ in $(seq 50); do
    [ "$(pgrep -f "^$T/hang" | wc -l)" -ge 4 ] && break
    sleep 0.1
  done
  # each job's thread runs on its core alone (one thread for both would be allowed on "0-1")
  for t in $(ls "/proc/$driver/task"); do
    cpus="$cpus $(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$driver/task/$t/status")"
  done
  kill -TERM "$driver"
  wait "$driver" || true
  [[ " $cpus " == *" 0 "* ]]
  [[ " $cpus " == *" 1 "* ]]
}

@test "-v names each server; without --cpu each gets a free core of its own" {
  run --separate-stderr "$FORKSRV" -v -j 2 -- "$T/exit_code"
  # Shown only if the test fails: it failed once under load, and its lines are what can say why.
  printf '%s\n' "status $status" "$stderr"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^forksrv: fork server pid [0-9]* started at entry$' <<<"$stderr")" -eq 2 ]
  local cores
  cores=$(sed -n 's/^forksrv: pinned to core \([0-9]*\)$/\1/p' <<<"$stderr" | sort -u | wc -l)
  # Other processes pinned to cores (a parallel CI job) leave fewer free: -v then says so.
  [ "$cores" -eq 2 ] || [ "$(nproc)" -lt 2 ] || grep -q '^forksrv: no free core to pin to: running unpinned$\|^forksrv: 1 free cores for 2 jobs: the jobs share them$' <<<"$stderr"
}

@test "SIGINT during a -j 2 run stops both, reports what finished and leaves nothing" {
  "$FORKSRV" -j 2 -t 0 -i "$(input a 0)" -i "$(input b 'sleep 3000')" -i "$(input c 'sleep 3000')" -- "$T/hang" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
  local driver=$!
  for _ in $(seq 50); do
    [ "$(pgrep -f "^$T/hang" | wc -l)" -ge 4 ] && break
    sleep 0.1
  done
  kill -INT "$driver"
  local rc=0
  wait "$driver" || rc=$?
  [ "$rc" -eq 130 ]
  grep -q '^forksrv: 1 execution in ' "$BATS_TEST_TMPDIR/out"
  assert_no_leftovers
}

@test "--jobs 0 is a usage error" {
  run -2 --separate-stderr "$FORKSRV" -j 0 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --jobs must be at least 1" ]
}

@test "-j 2: when one server dies the other job gives up its input at once, even with no timeout" {
  "$FORKSRV" -j 2 -t 0 -i "$(input a 'sleep 30000')" -i "$(input b 'sleep 30000')" -- "$T/hang" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
  local driver=$! servers=""
  for _ in $(seq 50); do
    servers=$(pgrep -f "^$T/hang" -P "$driver" || true)
    if [ "$(wc -w <<<"$servers")" -eq 2 ] && [ "$(pgrep -f "^$T/hang" | wc -l)" -ge 4 ]; then break; fi
    sleep 0.1
  done
  kill -KILL "$(head -n 1 <<<"$servers")"
  local rc=0 t0=$SECONDS
  wait "$driver" || rc=$?
  [ "$rc" -eq 2 ]
  [ $((SECONDS - t0)) -lt 10 ]
  grep -q '^forksrv: server died (killed by SIGKILL)$' "$BATS_TEST_TMPDIR/out"
  assert_no_leftovers
}
