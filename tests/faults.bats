#!/usr/bin/env bats
# The fault matrix, during executions and at its edges: each case's outcome equals plain
# fork+exec's, and nothing is left behind.
load helpers

@test "every exit code from 0 to 255 comes back exactly" {
  local code args=()
  for code in $(seq 0 255); do args+=(-i "$(input "$(printf %03d "$code")" "$code")"); done
  same_as_plain "${args[@]}" -- "$T/exit_code"
  [ "${#lines[@]}" -eq 256 ]
  for code in 0 1 127 128 200 255; do
    [[ "${lines[$code]}" == *"\"exit_code\":$code,"* ]]
  done
}

@test "a target that forks 200 sleeping children: all are killed after its execution" {
  same_as_plain -i "$(input a bomb)" -i "$(input b ok)" -- "$T/misbehave"
  [[ "${lines[0]}" == *'"result":"exited","exit_code":0'* ]]
  assert_no_leftovers
}

@test "a fork bomb held back by RLIMIT_NPROC: its result as plain, and not one of its processes left" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to run as nobody (root is not bound by RLIMIT_NPROC)"
  command -v prlimit >/dev/null || skip "prlimit is not installed"
  input a bomb >/dev/null
  local busy
  busy=$(ps -u nobody --no-headers | wc -l)
  run -0 --separate-stderr as_user prlimit --nproc=$((busy + 40)) "$FORKSRV" --json -n 3 -i "$BATS_TEST_TMPDIR/in/a" -- "$T/misbehave"
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
  [ -z "$(ps -u nobody -o pid= -o args= | grep -F "$T/")" ]
}

@test "vfork in the target works as under plain fork+exec" {
  same_as_plain -i "$(input a vfork)" -- "$T/misbehave"
  [[ "$output" == *'"exit_code":3'* ]]
}

@test "a target that closes or replaces its stdin, stdout and stderr changes nothing for the next" {
  same_as_plain -i "$(input a closestd)" -i "$(input b dupstd)" -i "$(input c 7)" -- "$T/misbehave"
  [[ "${lines[0]}" == *'"exit_code":5'* ]]
  [[ "${lines[1]}" == *'"exit_code":6'* ]]
}

@test "megabytes written to stdout and stderr neither block nor leak into the next execution" {
  same_as_plain --crashes "$BATS_TEST_TMPDIR/c" -i "$(input a bigout)" -i "$(input b maskcrash)" -- "$T/misbehave"
  [[ "${lines[0]}" == *'"result":"exited","exit_code":0'* ]]
  # The crash that follows gets only its own (empty) stderr, not the 8 MiB before it.
  [ ! -s "$BATS_TEST_TMPDIR/c/b.stderr" ]
}

@test "a target that ignores and blocks every signal still ends, by exit or at the timeout" {
  same_as_plain -t 200 -i "$(input a deaf)" -i "$(input b deafhang)" -i "$(input c ok)" -- "$T/misbehave"
  [[ "${lines[0]}" == *'"exit_code":9'* ]]
  [[ "${lines[1]}" == *'"result":"timeout","signal":"SIGKILL"'* ]]
  assert_no_leftovers
}

@test "a crash with every signal blocked is still a crash" {
  same_as_plain -i "$(input a maskcrash)" -- "$T/misbehave"
  [[ "$output" == *'"result":"crashed","signal":"SIGSEGV"'* ]]
}

@test "a 0-byte and a 64 MiB input reach the target whole" {
  : >"$BATS_TEST_TMPDIR/in/empty"
  head -c $((64 << 20)) /dev/zero >"$BATS_TEST_TMPDIR/in/huge"
  same_as_plain -i "$BATS_TEST_TMPDIR/in/empty" -i "$BATS_TEST_TMPDIR/in/huge" -- /bin/sh -c 'test "$(wc -c)" -eq "$1"' sh 0
  [[ "${lines[0]}" == *'"exit_code":0'* ]]
  [[ "${lines[1]}" == *'"exit_code":1'* ]]
}

@test "when fork fails in the server (RLIMIT_NPROC), each execution is an error result, not a hang" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to run as nobody"
  command -v prlimit >/dev/null || skip "prlimit is not installed"
  local dir
  dir=$(mktemp -d /tmp/forksrv-nproc.XXXXXX)
  chmod 1777 "$dir"
  local busy
  busy=$(ps -u nobody --no-headers | wc -l)
  # nobody may have the driver, its janitor and the server, and not one process more.
  TMPDIR=$dir run -2 --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
    prlimit --nproc=$((busy + 3)) "$FORKSRV" --no-pin -n 2 -- "$T/exit_code"
  rmdir "$dir"
  [ "${stderr_lines[0]}" = "forksrv: fork for -: Resource temporarily unavailable" ]
  [[ "$stderr" == *"0 exited (0 non-zero), 0 crashed, 0 timed out, 2 fork failures" ]]
}

@test "no fd of the server's sits below 1000 in a child: the target's own fds are numbered as plainly" {
  same_as_plain -i "$(input a 0)" -i "$(input b 1)" -- "$T/server_fds"
  [[ "$output" == *'"exit_code":0'*'"exit_code":0'* ]]
  same_as_plain --start main -i "$(input c 0)" -- "$T/server_fds"
  [[ "$output" == *'"exit_code":0'* ]]
}

@test "a target that closes fds 3 to 1024 before the server starts is still served" {
  same_as_plain -i "$(input a 4)" -- "$T/closes_fds"
  run -0 --separate-stderr "$FORKSRV" -v -i "$(input b 0)" -- "$T/closes_fds"
  [[ "$stderr" == *"started at entry"* ]]
}
