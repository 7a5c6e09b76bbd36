#!/usr/bin/env bats
# What a target writes to a captured stdout or stderr is kept within 2 MiB per execution, the first
# and the last MiB, however much it writes and for however long (-t 0 too), with a line where the
# middle was cut and the count in the reports. The flood target exits 3 if its stderr ever held
# more than 64 MiB of memory.
load helpers

MARK='[forksrv: 534773760 bytes cut here: a capture keeps the first 1048576 and the last 1048576 bytes of an execution]'

@test "512 MiB of stderr under -t 0 is held within bounds, and the crash file keeps its head, a cut line and its tail" {
  run -1 --separate-stderr "$FORKSRV" --json -t 0 --crashes "$BATS_TEST_TMPDIR/c" -i "$(input a abort)" -- "$T/flood" 512
  [[ "$output" == *'"result":"crashed","signal":"SIGABRT","stderr_cut":534773760,'* ]]
  local f="$BATS_TEST_TMPDIR/c/a.stderr"
  [ "$(stat -c %s "$f")" -eq $((2 * 1048576 + ${#MARK} + 2)) ]
  [ "$(head -c 8 "$f")" = "chunk 0 " ]
  [ "$(grep -c '^\[forksrv: ' "$f")" = 1 ]
  [ "$(grep '^\[forksrv: ' "$f")" = "$MARK" ]
  [ "$(tail -n 1 "$f" | head -c 11)" = "chunk 8191 " ]
}

@test "the bound holds for an execution that runs on until its timeout" {
  run -1 --separate-stderr "$FORKSRV" --json -t 1500 -i "$(input a x)" -- "$T/flood" 100000000
  [[ "$output" == *'"result":"timeout",'*'"stderr_cut":'* ]]
}

@test "without the server the capture is bounded too, and the target saw no more than 64 MiB held" {
  run -0 --separate-stderr "$FORKSRV" --json --no-server -t 0 -i "$(input a x)" -- "$T/flood" 512
  [[ "$output" == *'"result":"exited","exit_code":0,"stderr_cut":534773760,'* ]]
}

@test "--verify compares the bounded captures: the same flood is the same output" {
  run -0 --separate-stderr "$FORKSRV" --json --verify 1 -t 0 -i "$(input a x)" -- "$T/flood" 512
  [[ "$output" == *'"verified":"same","stderr_cut":534773760,'* ]]
}

@test "--junit says how much of the stderr was cut" {
  local xml="$BATS_TEST_TMPDIR/r.xml"
  run -1 --separate-stderr "$FORKSRV" -q -t 0 --junit "$xml" -i "$(input a abort)" -- "$T/flood" 512
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(//testcase[1]/system-err)' "$xml")" = "forksrv: 534773760 bytes were cut from the middle of the target's stderr (a capture keeps the first and the last MiB of an execution)" ]
  [[ "$(xmllint --xpath 'string(//testcase[1]/failure)' "$xml")" == "[forksrv: the last 65536 of $((2 * 1048576 + ${#MARK} + 2)) bytes]"$'\n'* ]]
}

@test "a target that clears O_APPEND on its stderr and seeks it far on still gets a bounded capture, and the next its own" {
  local c
  c=$(corpus 3 0)
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$BATS_TEST_TMPDIR/c" --junit "$BATS_TEST_TMPDIR/j.xml" -i "$c" -- "$T/unappend"
  [ "$(stat -c %s "$BATS_TEST_TMPDIR/c/10.stderr")" -le $((2 * 1048576 + 256)) ]
  [ "$(tail -n 1 "$BATS_TEST_TMPDIR/c/10.stderr")" = "said 3" ]
  # The second's last line differs from the first's: a crash of its own, and in the report too.
  [ "$(cat "$BATS_TEST_TMPDIR/c/11.stderr")" = "said 0" ]
  [ "$(xmllint --xpath 'string(//testcase[2]/failure)' "$BATS_TEST_TMPDIR/j.xml")" = "said 0" ]
}
