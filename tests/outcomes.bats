#!/usr/bin/env bats
# Every execution's outcome under the fork server equals plain fork+exec's, input for input.
load helpers

@test "exit codes from 0 to 255 are reported as plain fork+exec reports them" {
  local args=() code
  for code in 0 1 2 3 7 42 99 100 126 127 128 200 254 255; do
    args+=(-i "$(input "code$code" "$code")")
  done
  same_as_plain "${args[@]}" -- "$T/exit_code"
  [ "$status" -eq 0 ]
  [ "$(grep -c '"result":"exited"' <<<"$output")" -eq 14 ]
  grep -q '"input":"[^"]*code255","run":1,"result":"exited","exit_code":255' <<<"$(outcomes <<<"$output")"
}

@test "each common crash signal is reported by name, as under plain fork+exec" {
  local args=() how
  for how in segv abort fpe ill bus trap kill; do
    args+=(-i "$(input "$how" "$how")")
  done
  same_as_plain "${args[@]}" -- "$T/crash"
  [ "$status" -eq 1 ]
  for sig in SIGSEGV SIGABRT SIGFPE SIGILL SIGBUS SIGTRAP SIGKILL; do
    grep -q "\"result\":\"crashed\",\"signal\":\"$sig\"" <<<"$output"
  done
}

@test "the input reaches the target on stdin by default" {
  same_as_plain -i "$(input a 17)" -- "$T/exit_code"
  [[ "$output" == *'"exit_code":17'* ]]
}

@test "@@ in an argument becomes a path the target can open and read" {
  same_as_plain -i "$(input a 23)" -i "$(input b segv)" -- "$T/crash" @@
  [[ "$output" == *'"signal":"SIGSEGV"'* ]]
  same_as_plain -i "$(input c 23)" -- "$T/exit_code" @@
  [[ "$output" == *'"exit_code":23'* ]]
}

@test "@@ inside a longer argument is replaced too" {
  # sh sees "--file=/proc/PID/fd/N": strip the prefix as a target parsing its options would.
  run -0 --separate-stderr "$FORKSRV" --json -i "$(input b 6)" -- /bin/sh -c 'exit $(cat "${1#--file=}")' sh --file=@@
  [[ "$output" == *'"exit_code":6'* ]]
}

@test "each input runs -n times, in sorted order within a directory" {
  mkdir "$BATS_TEST_TMPDIR/corpus"
  printf 3 >"$BATS_TEST_TMPDIR/corpus/b"
  printf 1 >"$BATS_TEST_TMPDIR/corpus/a"
  printf 2 >"$BATS_TEST_TMPDIR/corpus/c"
  same_as_plain -n 2 -i "$BATS_TEST_TMPDIR/corpus" -- "$T/exit_code"
  [ "$(grep -o '"exit_code":[0-9]*' <<<"$output" | tr -d '\n')" = '"exit_code":1"exit_code":1"exit_code":3"exit_code":3"exit_code":2"exit_code":2' ]
  [ "$(grep -o '"run":[0-9]*' <<<"$output" | tr -d '\n')" = '"run":1"run":2"run":1"run":2"run":1"run":2' ]
}

@test "without -i, -n N runs the target N times with an empty input" {
  same_as_plain -n 3 -- "$T/exit_code"
  [ "$(grep -c '"input":null,"run":[123],"pid":[0-9]*,"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
}

@test "every execution is a fresh process: no state carries from one input to the next" {
  run -0 --separate-stderr "$FORKSRV" --json -n 3 -- "$T/exit_code"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 3 ]
}

@test "a large input reaches the target whole, and a shorter one after it is not padded" {
  head -c 3000000 /dev/zero | tr '\0' 'x' >"$BATS_TEST_TMPDIR/in/big"
  run -0 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/in/big" -i "$(input small 9)" \
    -- /bin/sh -c 'exit $(( $(wc -c) % 256 ))'
  [[ "${lines[0]}" == *"\"exit_code\":$((3000000 % 256))"* ]]
  [[ "${lines[1]}" == *'"exit_code":1'* ]]
}

@test "a target whose own constructor exits does so in every execution, as under plain fork+exec" {
  # Its constructor runs after the preloaded server's, so in each child, not once before the hello.
  same_as_plain -n 3 -- "$T/dies_in_ctor"
  [ "$(grep -c '"result":"exited","exit_code":4' <<<"$output")" -eq 3 ]
}
