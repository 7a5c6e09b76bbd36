#!/usr/bin/env bats
# Targets built with ASan and UBSan run under the preload: gcc's shared sanitizer runtime (which
# insists on coming first among the libraries) and clang's static one. Every sanitizer's finding is a
# crash, by forksrv's defaults for each one's options, which NAME.repro carries and the user's win.
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

@test "started at main, an ASan target that retitles itself gets the driver's variables out of its copied environment without a leak LeakSanitizer would report" {
  same_as_plain --start main -i "$(input a 0)" -i "$(input b 7)" -- "$T/retitle_asan"
  [[ "$output" == *'"result":"exited","exit_code":7'* ]]
  [[ "$output" == *'"result":"exited","exit_code":0'* ]]
}

@test "the user's own ASAN_OPTIONS win over forksrv's defaults" {
  export ASAN_OPTIONS=abort_on_error=0
  same_as_plain -i "$(input b heap-overflow)" -- "$T/asan_gcc"
  [[ "$output" == *'"result":"exited","exit_code":1'* ]]
}

@test "a UBSan finding is a crash too, as run directly with the .repro line's options: a harness main's SEGV" {
  same_as_plain_harness --crashes "$BATS_TEST_TMPDIR/crashes" -i "$(input a ok)" -i "$(input b segv)" -- "$T/harness_ubsan"
  [ "$status" -eq 1 ]
  [[ "${lines[1]}" == *'"result":"crashed","signal":"SIGABRT"'* ]]
  grep -q 'ERROR: UndefinedBehaviorSanitizer: SEGV' "$BATS_TEST_TMPDIR/crashes/b.stderr"
  run -0 cat "$BATS_TEST_TMPDIR/crashes/b.repro"
  [[ "$output" == *" && ASAN_OPTIONS='verify_asan_link_order=0:abort_on_error=1' UBSAN_OPTIONS='halt_on_error=1:abort_on_error=1' MSAN_OPTIONS='halt_on_error=1:abort_on_error=1' LSAN_OPTIONS='abort_on_error=1' FORKSRV_PLAIN=1 '$T/harness_ubsan' < "* ]]
  run -134 sh "$BATS_TEST_TMPDIR/crashes/b.repro"
}

@test "the user's own abort_on_error, in any sanitizer's options, holds for all of them" {
  export UBSAN_OPTIONS=abort_on_error=0
  same_as_plain_harness -i "$(input b segv)" -- "$T/harness_ubsan"
  [[ "$output" == *'"result":"exited","exit_code":1'* ]]
}

@test "--verify reads a sanitizer's report by what it found: the same finding in another process, with other pids and addresses, is no mismatch" {
  local in="-i $(input a ok) -i $(input b heap-overflow) -i $(input c segv)" target
  for target in asan_clang asan_gcc; do
    run -1 --separate-stderr "$FORKSRV" --verify 1 $in -- "$T/$target"
    [[ "${stderr_lines[-1]}" == *", 3 verified, 0 mismatches" ]]
    run -1 --separate-stderr "$FORKSRV" --verify 1 --start main $in -- "$T/$target"
    [[ "${stderr_lines[-1]}" == *", 3 verified, 0 mismatches" ]]
  done
  run -1 --separate-stderr "$FORKSRV" --verify 1 --reset snapshot --start main $in -- "$T/asan_clang"
  [[ "${stderr_lines[-1]}" == *", 3 verified, 0 mismatches" ]]
}

@test "--verify still calls a report of another finding a mismatch, though the outcome is the same" {
  # The first run of the input overflows one buffer, every later run another, at another line.
  cat >"$BATS_TEST_TMPDIR/two.c" <<'C'
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  volatile char *p = malloc(8);
  if (access(argv[1], F_OK) == 0) return p[8];
  close(creat(argv[1], 0600));
  return p[16];
}
C
  clang -g -fsanitize=address -include fcntl.h -o "$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/two.c"
  run -3 --separate-stderr "$FORKSRV" --verify 1 -i "$(input a x)" -- "$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/flag"
  [[ "${stderr_lines[0]}" == "forksrv: MISMATCH $BATS_TEST_TMPDIR/in/a: stderr differs from byte "* ]]
  [[ "${stderr_lines[-1]}" == *", 1 verified, 1 mismatches" ]]
  # Unsymbolized, the frames differ by their offsets in the program alone.
  rm "$BATS_TEST_TMPDIR/flag"
  ASAN_OPTIONS=symbolize=0:abort_on_error=1 run -3 --separate-stderr "$FORKSRV" --verify 1 -i "$(input a x)" -- "$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/flag"
  [[ "${stderr_lines[-1]}" == *", 1 verified, 1 mismatches" ]]
}

@test "--verify compares what follows a report that does not end the run: a UBSan finding under halt_on_error=0" {
  # The first run of the input says "first" after the finding, every later run "again".
  cat >"$BATS_TEST_TMPDIR/ub.c" <<'C'
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  volatile int x = INT_MAX;
  x += argc;
  fprintf(stderr, "%s\n", access(argv[1], F_OK) == 0 ? "again" : "first");
  close(creat(argv[1], 0600));
  return 0;
}
C
  clang -g -fsanitize=undefined -o "$BATS_TEST_TMPDIR/ub" "$BATS_TEST_TMPDIR/ub.c"
  UBSAN_OPTIONS=halt_on_error=0 run -3 --separate-stderr "$FORKSRV" --verify 1 -i "$(input a x)" -- "$BATS_TEST_TMPDIR/ub" "$BATS_TEST_TMPDIR/flag"
  [[ "${stderr_lines[0]}" == "forksrv: MISMATCH $BATS_TEST_TMPDIR/in/a: stderr differs from byte "* ]]
  # The same finding and the same words after it: no mismatch.
  UBSAN_OPTIONS=halt_on_error=0 run -0 --separate-stderr "$FORKSRV" --verify 1 -i "$(input a x)" -- "$BATS_TEST_TMPDIR/ub" "$BATS_TEST_TMPDIR/flag"
  [[ "${stderr_lines[-1]}" == *", 1 verified, 0 mismatches" ]]
}
