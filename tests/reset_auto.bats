#!/usr/bin/env bats
# --reset auto: snapshot reset where it gives what a direct run gives, fork otherwise. Each target's
# first three inputs run directly (plain fork+exec) and then under snapshot reset; one whose outcome
# or output differs turns that target to fork, and runs again there. One line says which mode runs
# and why.
load helpers

@test "--reset auto runs snapshot reset where the first inputs give the direct run's outcome and output, and says so" {
  local dir
  dir=$(corpus 0 3 0 7 5)
  same_as_plain --reset auto -i "$dir" -- "$T/exit_code"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
  [ "${stderr_lines[0]}" = "forksrv: reset: snapshot: the first 3 inputs gave the direct run's outcome and output" ]
  [ "${#stderr_lines[@]}" -eq 2 ]
}

@test "--reset auto turns to fork where snapshot reset gives an input another output than the direct run, and runs that input again" {
  local dir expected
  dir=$(corpus 1 2 3 4)
  expected=$(for in in "$dir"/*; do "$T/rodata_patch" <"$in"; done)
  run -0 --separate-stderr "$FORKSRV" --reset auto --show-output -i "$dir" -- "$T/rodata_patch"
  [ "$output" = "$expected" ]
  [ "${stderr_lines[0]}" = "forksrv: reset: fork: under snapshot reset, $dir/11's stdout differs from the direct run's" ]
  same_as_plain --reset auto -i "$dir" -- "$T/rodata_patch"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 4 ]
}

@test "--reset auto on a target snapshot reset cannot serve forks it, and says why" {
  same_as_plain --reset auto -n 3 -- "$T/static_fsrv"
  [ "${stderr_lines[1]}" = "forksrv: reset: fork: snapshot reset needs a dynamically linked glibc target" ]
}

@test "--reset auto holds each of -j 2's targets to the direct run" {
  local dir
  dir=$(corpus 0 3 0 7 5 1 2)
  same_as_plain --reset auto -j 2 -i "$dir" -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: reset: snapshot: the first 3 inputs gave the direct run's outcome and output" ]
}

@test "--reset auto turns to fork where snapshot reset discards its child after each of the first inputs: a recording per input costs more than a fork" {
  local dir
  dir=$(corpus thread thread thread thread)
  same_as_plain --reset auto --start main -i "$dir" -- "$T/reset"
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset discarded its child after an input that left a thread running; the input after it gets a fresh fork" ]
  [ "${stderr_lines[1]}" = "forksrv: reset: fork: snapshot reset could not keep its child past any of the first 3 inputs (the warning says why)" ]
}

@test "--reset auto on inputs that crash keeps snapshot reset (a crash is no discard), and each input's report is its own" {
  local dir f
  dir=$(corpus heap-overflow heap-overflow heap-overflow heap-overflow)
  run -1 --separate-stderr "$FORKSRV" --reset auto --verify 1 --junit "$BATS_TEST_TMPDIR/j.xml" -i "$dir" -- "$T/asan_clang"
  [ "${stderr_lines[0]}" = "forksrv: reset: snapshot: the first 3 inputs gave the direct run's outcome and output" ]
  [[ "${stderr_lines[-1]}" == *": 0 exited (0 non-zero), 4 crashed, 0 timed out, 4 verified, 0 mismatches" ]]
  for f in 1 2 3 4; do
    xmllint --xpath "string(//testcase[$f]/failure)" "$BATS_TEST_TMPDIR/j.xml" | grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow'
  done
}
