#!/usr/bin/env bats
# --verify N: every N-th input also runs by plain fork+exec, and the two outcomes are compared; a
# mismatch is reported loudly with the input's name, counted in the summary, and exits 3.
load helpers

mixed() { corpus 0 3 segv 0 abort 7 hang 0 255 '!' 0; }

@test "--verify 1 over crashes, exit codes and a timeout finds no mismatch, at every start point" {
  local c
  c=$(mixed)
  run -1 --separate-stderr "$FORKSRV" -t 300 --verify 1 -i "$c" -- "$T/persistent"
  [[ "${stderr_lines[-1]}" == *", 11 verified, 0 mismatches" ]]
  run -1 --separate-stderr "$FORKSRV" -t 300 --verify 1 --start main -i "$c" -- "$T/persistent"
  [[ "${stderr_lines[-1]}" == *", 11 verified, 0 mismatches" ]]
  LOOP_N=1 run -1 --separate-stderr "$FORKSRV" -t 300 --verify 1 -j 2 -i "$c" -- "$T/persistent"
  [[ "${stderr_lines[-1]}" == *", 11 verified, 0 mismatches" ]]
}

@test "--verify compares stdout and stderr too: output that differs under the server is a mismatch naming the stream" {
  # deferred says on stderr what forksrv_start() returned: 1 under the server, 0 without.
  run -3 --separate-stderr "$FORKSRV" --json --verify 1 -i "$(input a 0)" -- "$T/deferred"
  [ "${stderr_lines[0]}" = "forksrv: MISMATCH $BATS_TEST_TMPDIR/in/a: stderr differs from byte 15 on (17 bytes under the fork server, 17 by plain fork+exec)" ]
  [[ "${stderr_lines[1]}" == *", 1 verified, 1 mismatches" ]]
  [[ "$output" == *'"exit_code":0,"verified":"different","output":"stderr differs from byte 15 on (17 bytes under the fork server, 17 by plain fork+exec)"'* ]]
  # stdout: a shell that prints whether the server's variables reached it (they never do).
  run -0 --separate-stderr "$FORKSRV" --verify 1 -i "$(input b 0)" -- /bin/sh -c 'echo "${FORKSRV_FIFO_IN:-none}"; cat >/dev/null'
  [[ "${stderr_lines[0]}" == *", 1 verified, 0 mismatches" ]]
  run -3 --separate-stderr "$FORKSRV" --verify 1 -i "$(input b 0)" -- /bin/sh -c 'echo $$'
  [[ "${stderr_lines[0]}" == "forksrv: MISMATCH $BATS_TEST_TMPDIR/in/b: stdout differs from byte "* ]]
}

@test "--verify catches a target rigged to behave differently under the fork server, naming the input" {
  export RIGGED="$BATS_TEST_TMPDIR/pid"
  run -3 --separate-stderr "$FORKSRV" --json --start main --verify 1 -i "$(input a x)" -- "$T/rigged"
  [ "${stderr_lines[0]}" = "forksrv: MISMATCH $BATS_TEST_TMPDIR/in/a: exited 1 under the fork server, exited 0 by plain fork+exec" ]
  [[ "${stderr_lines[1]}" == *", 1 verified, 1 mismatches" ]]
  [[ "$output" == *'"exit_code":1,"verified":"different","plain":"exited 0"'* ]]
  # the default start runs the constructor in each child: nothing to catch
  run -0 --separate-stderr "$FORKSRV" --verify 1 -i "$(input a x)" -- "$T/rigged"
  [[ "${stderr_lines[0]}" == *", 1 verified, 0 mismatches" ]]
}

@test "--verify N checks every N-th input, from the first" {
  run -0 --separate-stderr "$FORKSRV" --json --verify 3 -n 10 -- "$T/exit_code"
  [ "$(grep -c '"verified":"same"' <<<"$output")" -eq 4 ]
  [ "$(sed -n '1p;4p;7p;10p' <<<"$output" | grep -c verified)" -eq 4 ]
}

@test "a --verify mismatch is a JUnit failure of type mismatch" {
  export RIGGED="$BATS_TEST_TMPDIR/pid"
  run -3 --separate-stderr "$FORKSRV" --junit "$BATS_TEST_TMPDIR/r.xml" --start main --verify 1 -i "$(input a x)" -- "$T/rigged"
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$BATS_TEST_TMPDIR/r.xml"
  [ "$(xmllint --xpath 'string(//failure/@type)' "$BATS_TEST_TMPDIR/r.xml")" = mismatch ]
  [ "$(xmllint --xpath 'string(//failure/@message)' "$BATS_TEST_TMPDIR/r.xml")" = "exited 1 under the fork server, exited 0 by plain fork+exec" ]
}

@test "--verify 0 is a usage error" {
  run -2 --separate-stderr "$FORKSRV" --verify 0 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --verify must be at least 1" ]
}
