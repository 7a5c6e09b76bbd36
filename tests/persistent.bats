#!/usr/bin/env bats
# Persistent mode: while (forksrv_loop(N)) runs up to N inputs in one child, each reported as if it
# had a process of its own; and libforksrv_main.a, which makes a persistent target of any file that
# defines LLVMFuzzerTestOneInput.
load helpers

mixed_corpus() { corpus 0 0 0 segv 0 0 7 0 hang 0 abort 0 0; }

@test "persistent outcomes equal plain fork+exec's, a crash and a timeout in mid-batch included" {
  same_as_plain -t 300 -i "$(mixed_corpus)" -- "$T/persistent"
  [ "$status" -eq 1 ]
  [[ "${lines[3]}" == *'"result":"crashed","signal":"SIGSEGV"'* ]]
  [[ "${lines[6]}" == *'"result":"exited","exit_code":7'* ]]
  [[ "${lines[8]}" == *'"result":"timeout"'* ]]
  [[ "${lines[10]}" == *'"result":"crashed","signal":"SIGABRT"'* ]]
  assert_no_leftovers
}

@test "inputs share a child until one ends it; the next input gets a fresh child" {
  run -1 --separate-stderr "$FORKSRV" --json -t 300 -i "$(mixed_corpus)" -- "$T/persistent"
  local pids
  pids=$(grep -o '"pid":[0-9]*' <<<"$output" | cut -d: -f2 | tr '\n' ' ')
  read -r -a p <<<"$pids"
  # 0 0 0 segv | 0 0 7 | 0 hang | 0 abort | 0 0
  [ "${p[0]}" = "${p[3]}" ]
  [ "${p[4]}" = "${p[6]}" ]
  [ "${p[7]}" = "${p[8]}" ]
  [ "${p[9]}" = "${p[10]}" ]
  [ "${p[11]}" = "${p[12]}" ]
  [ "${p[3]}" != "${p[4]}" ]
  [ "${p[6]}" != "${p[7]}" ]
  [ "${p[8]}" != "${p[9]}" ]
  [ "${p[10]}" != "${p[11]}" ]
}

@test "forksrv_loop(N) runs at most N inputs in one child" {
  LOOP_N=3 run -0 --separate-stderr "$FORKSRV" --json -n 7 -- "$T/persistent"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" = "3 3 1 " ]
}

@test "persistent mode reads each input afresh through @@ as well" {
  same_as_plain -t 300 -i "$(mixed_corpus)" -- "$T/persistent" @@
  [[ "${lines[6]}" == *'"exit_code":7'* ]]
}

@test "without a driver a persistent target handles one input, as it would without forksrv" {
  run -7 "$T/persistent" < <(printf 7)
  run -0 "$T/persistent" < <(printf 0)
}

@test "a harness from LLVMFuzzerTestOneInput: initialised once, persistent, outcomes as plain" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -1 --separate-stderr "$FORKSRV" -v --json -t 300 -i "$(mixed_corpus)" -- "$T/harness"
  [[ "$stderr" == *"started at deferred"* ]]
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  same_as_plain_harness -t 300 -i "$BATS_TEST_TMPDIR/corpus" -- "$T/harness"
  same_as_plain_harness -t 300 -i "$BATS_TEST_TMPDIR/corpus" -- "$T/harness" @@
}

@test "what a harness prints for each input, unflushed, is that input's output in its persistent child, as run directly" {
  local in=$(corpus a bb ccc) expected
  export HARNESS_PRINTS=buffered
  expected=$(for f in "$in"/*; do FORKSRV_PLAIN=1 "$T/harness" "$f" 2>/dev/null; done)
  [ "$expected" = "out 1"$'\n'"out 2"$'\n'"out 3" ]
  run -0 --separate-stderr "$FORKSRV" --show-output -i "$in" -- "$T/harness"
  [ "$output" = "$expected" ]
  run -0 --separate-stderr "$FORKSRV" --json -i "$in" -- "$T/harness"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "the harness replays files and directories named on its command line without a driver, as libFuzzer does" {
  mkdir -p "$BATS_TEST_TMPDIR/ok"
  printf 0 >"$BATS_TEST_TMPDIR/ok/a"
  printf 0 >"$BATS_TEST_TMPDIR/ok/b"
  cd "$BATS_TEST_TMPDIR"
  run -0 "$T/harness" "$BATS_TEST_TMPDIR/ok/a" "$BATS_TEST_TMPDIR/ok"
  printf segv >"$BATS_TEST_TMPDIR/ok/c"
  # libFuzzer's exit code for a crash, and the input written as crash-<its sha1> (tests/libfuzzer_cli.bats).
  run -77 --separate-stderr "$T/harness" "$BATS_TEST_TMPDIR/ok"
  [ "$(grep -c '^SUMMARY: libFuzzer: deadly signal$' <<<"$stderr")" -eq 1 ]
  cmp crash-e719f94e7021ebc5ce18e6bed88195a7ff6a8a75 "$BATS_TEST_TMPDIR/ok/c"
  run -1 --separate-stderr "$T/harness" "$BATS_TEST_TMPDIR/none"
  [ "$stderr" = "ERROR: The required directory \"$BATS_TEST_TMPDIR/none\" does not exist" ]
}

@test "the demo's fuzz target replays the demo corpus with and without the driver alike" {
  [ -x "$B/examples/fuzz_records" ] || skip "make examples builds it"
  same_as_plain_harness -i "$B/examples/corpus" -- "$B/examples/fuzz_records"
  [ "$(grep -c '"result":"crashed"' <<<"$output")" -eq 6 ]
}

@test "afl-fuzz drives a persistent target through the preload and finds its crash" {
  command -v afl-fuzz >/dev/null || skip "afl++ is not installed"
  mkdir "$BATS_TEST_TMPDIR/seeds"
  printf hello >"$BATS_TEST_TMPDIR/seeds/a"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
      AFL_PRELOAD="$B/libforksrv.so" AFL_DUMB_FORKSRV=1 \
      run -0 afl-fuzz -n -V 4 -t 200 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/persistent"
    ls "$BATS_TEST_TMPDIR/out/crashes" | grep -q '^id:.*sig:11'
    assert_no_leftovers
  done
}

@test "a persistent child killed from outside between inputs loses no input and runs none twice" {
  export LOG="$BATS_TEST_TMPDIR/ran"
  run -0 --separate-stderr "$T/lost_child" "$B/libforksrv.so" "$T/persistent" 0 3 5 0 7
  [ "$output" = "$(printf '0 1 0\n3 1 3\n5 1 5\n0 1 0\n7 1 7')" ]
  [ "$(tr '\n' ' ' <"$LOG")" = "0 3 5 0 7 " ]
}
