#!/usr/bin/env bats
# Every fd the driver opens is close-on-exec: whatever the options, a target's first open() returns 3,
# as under the shell, so that no report file, capture or pipe of forksrv's can be written by a target.
load helpers

# first_fds OPTIONS...: the exit codes (the first fd each execution got) of first_fd over a corpus
# whose first input aborts, so that the crash paths of the options have run before the others.
first_fds() {
  local c
  c=$(corpus abort x y)
  only_stdio "$FORKSRV" --json -i "$c" "$@" -- "$T/first_fd" | grep -o '"exit_code":[0-9]*' | tr '\n' ' '
}

@test "a target's first open returns 3 by default and with --no-server" {
  [ "$(first_fds)" = '"exit_code":3 "exit_code":3 ' ]
  [ "$(first_fds --no-server)" = '"exit_code":3 "exit_code":3 ' ]
}

@test "a target's first open returns 3 with --junit, with and without the server (its temp file was inherited)" {
  [ "$(first_fds --junit "$BATS_TEST_TMPDIR/r.xml")" = '"exit_code":3 "exit_code":3 ' ]
  [ "$(first_fds --no-server --junit "$BATS_TEST_TMPDIR/r.xml")" = '"exit_code":3 "exit_code":3 ' ]
  xmllint --noout "$BATS_TEST_TMPDIR/r.xml"
}

@test "a target's first open returns 3 with --crashes, after a crash was saved" {
  [ "$(first_fds --crashes "$BATS_TEST_TMPDIR/crashes")" = '"exit_code":3 "exit_code":3 ' ]
  [ -f "$BATS_TEST_TMPDIR/crashes/10" ]
}

@test "a target's first open returns 3 with --verify, in both runs of each input" {
  run -0 --separate-stderr first_fds --verify 1
  [ "$output" = '"exit_code":3 "exit_code":3 ' ]
  [[ "$stderr" != *MISMATCH* ]]
}

@test "a target's first open returns 3 with -j 2, --show-output and an @@ path" {
  [ "$(first_fds -j 2 --no-pin)" = '"exit_code":3 "exit_code":3 ' ]
  [ "$(first_fds --show-output --junit "$BATS_TEST_TMPDIR/r.xml" 2>/dev/null)" = '"exit_code":3 "exit_code":3 ' ]
  local c
  c=$(corpus abort x y)
  run -1 --separate-stderr only_stdio "$FORKSRV" --json -i "$c" --crashes "$BATS_TEST_TMPDIR/cr" -- "$T/first_fd" @@
  [ "$(grep -o '"exit_code":[0-9]*' <<<"$output" | tr '\n' ' ')" = '"exit_code":3 "exit_code":3 ' ]
}
