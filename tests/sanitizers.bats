#!/usr/bin/env bats
# Targets built with ASan and UBSan run under the preload: gcc's shared sanitizer runtime (which
# insists on coming first among the libraries) and clang's static one.
load helpers

@test "a gcc ASan target runs under the preload and its findings are crashes, as under plain exec" {
  same_as_plain --crashes "$BATS_TEST_TMPDIR/crashes" -i "$(input a ok)" -i "$(input b heap-overflow)" -- "$T/asan_gcc"
  [ "$status" -eq 1 ]
  [[ "${lines[1]}" == *'"result":"crashed","signal":"SIGABRT"'* ]]
  grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$BATS_TEST_TMPDIR/crashes/b.stderr"
}

@test "a clang ASan+UBSan target (static runtime) runs under the preload" {
  same_as_plain --crashes "$BATS_TEST_TMPDIR/crashes" -i "$(input a ok)" -i "$(input b heap-overflow)" -i "$(input c segv)" -- "$T/asan_clang"
  [[ "${lines[1]}" == *'"result":"crashed","signal":"SIGABRT"'* ]]
  grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$BATS_TEST_TMPDIR/crashes/b.stderr"
  grep -q 'ERROR: AddressSanitizer: SEGV' "$BATS_TEST_TMPDIR/crashes/c.stderr"
}

@test "the user's own ASAN_OPTIONS win over forksrv's defaults" {
  export ASAN_OPTIONS=abort_on_error=0
  same_as_plain -i "$(input b heap-overflow)" -- "$T/asan_gcc"
  [[ "$output" == *'"result":"exited","exit_code":1'* ]]
}
