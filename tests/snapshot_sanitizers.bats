#!/usr/bin/env bats
# Snapshot reset with sanitizer targets, which is what fuzz targets are: clang's static UBSan runtime
# (whose .bss is megabytes long) and ASan (whose shadow reserves terabytes) in a harness main and in
# a plain target. Each input is put back in one child, as fresh as a direct run, with the page tables
# of a fresh fork; every test that could populate a reservation runs under a page-table watchdog.
load helpers

# The --json lines in $output name one pid.
one_child() {
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

# harness_fresh TARGET: a harness main that counts its inputs and bumps a heap byte prints 1 and 1 for
# each of 6 inputs under snapshot reset, as each run directly does, and one child runs them all.
harness_fresh() {
  local dir="$BATS_TEST_TMPDIR/six" i
  mkdir -p "$dir"
  for i in 1 2 3 4 5 6; do printf 'x%d' "$i" >"$dir/$i"; done
  export HARNESS_COUNTS=1
  expected=$(for i in 1 2 3 4 5 6; do FORKSRV_PLAIN=1 "$1" "$dir/$i"; done)
  [ "$(sort -u <<<"$expected")" = "count=1 heap=1" ]
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --show-output -i "$dir" -- "$1"
  [ "$output" = "$expected" ]
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --json -i "$dir" -- "$1"
  one_child
}

@test "a harness main with clang's static UBSan runtime is put back after every input, as fresh as a direct run" {
  harness_fresh "$T/harness_ubsan"
}

@test "an ASan harness main is put back after every input, as fresh as a direct run" {
  harness_fresh "$T/harness_asan"
}

@test "an ASan target is put back in one child, with the page tables of a fresh fork within 1 MiB, and its findings are still crashes" {
  local target
  for target in asan_clang asan_gcc; do
    run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --start main --json -n 3 -i "$(input ok ok)" -- "$T/$target"
    run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --start main --json -n 5 -i "$(input ok ok)" -- "$T/$target"
    one_child
    same_as_plain --reset snapshot -i "$(input a ok)" -i "$(input b heap-overflow)" -i "$(input c ok)" -- "$T/$target"
    [[ "${lines[1]}" == *'"result":"crashed","signal":"SIGABRT"'* ]]
  done
}

@test "an ASan target's snapshot child holds the page tables of a fresh fork, within 1 MiB" {
  local forked
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --start main -n 300 -i "$(input ok ok)" -- "$T/asan_clang"
  forked=$(cat "$BATS_TEST_TMPDIR/max_pte")
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --start main -n 3000 -i "$(input ok ok)" -- "$T/asan_clang"
  [ "$(cat "$BATS_TEST_TMPDIR/max_pte")" -le $((forked + 1024)) ]
}

@test "under a login shell's soft fd limit of 1024, sanitizer targets are put back too" {
  ulimit -Sn 1024
  harness_fresh "$T/harness_ubsan"
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --json -n 4 -i "$(input ok ok)" -- "$T/asan_clang"
  one_child
}
