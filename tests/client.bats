#!/usr/bin/env bats
# The C client API, used without the CLI, as a fuzzer would: start, a tight loop of runs, stop.
load helpers

@test "a client program drives the server through the API and gets the same results as the CLI" {
  run -0 --separate-stderr "$T/client_loop" 1000 "$B/libforksrv.so" "$T/exit_code"
  [ "${lines[*]:0:8}" = "0 1 0 1 1 1 2 1 2 3 1 3 0 1 0 1 1 1 2 1 2 3 1 3" ]
  [ "${lines[8]}" = "server yes" ]
  assert_no_leftovers
}

@test "a client's start-up failure comes back as one line" {
  run -2 --separate-stderr "$T/client_loop" 1 "$B/libforksrv.so" "$BATS_TEST_TMPDIR/none"
  [ "$stderr" = "client_loop: cannot execute $BATS_TEST_TMPDIR/none: No such file or directory" ]
}
