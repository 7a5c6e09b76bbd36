#!/usr/bin/env bats
# What CI reads: --junit FILE (JUnit XML, checked with xmllint against tests/junit.xsd), --shard I/N
# (deterministic slices whose union is every input once), and --crashes DIR's input, stderr and
# reproduce command.
load helpers

corpus() {
  mkdir -p "$BATS_TEST_TMPDIR/corpus/sub"
  printf 0 >"$BATS_TEST_TMPDIR/corpus/a"
  printf segv >"$BATS_TEST_TMPDIR/corpus/b"
  printf 3 >"$BATS_TEST_TMPDIR/corpus/sub/c"
  printf abort >"$BATS_TEST_TMPDIR/corpus/sub/d"
  printf 'sleep 2000' >"$BATS_TEST_TMPDIR/corpus/e"
  echo "$BATS_TEST_TMPDIR/corpus"
}

@test "--junit writes valid JUnit XML: a testcase per input, crashes and timeouts as failures with stderr" {
  local xml="$BATS_TEST_TMPDIR/report.xml"
  run -1 --separate-stderr "$FORKSRV" --junit "$xml" -t 1000 -i "$(corpus)" -- "$T/asan_clang"
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(/testsuites/@tests)' "$xml")" = 5 ]
  [ "$(xmllint --xpath 'count(//testcase)' "$xml")" = 5 ]
  [ "$(xmllint --xpath 'string(//testcase[1]/@name)' "$xml")" = "$BATS_TEST_TMPDIR/corpus/a" ]
  [ "$(xmllint --xpath 'string(//testcase[2]/failure/@type)' "$xml")" = SIGABRT ]
  [[ "$(xmllint --xpath 'string(//testcase[2]/failure)' "$xml")" == *"ERROR: AddressSanitizer: SEGV"* ]]
  [ "$(xmllint --xpath 'string(//testsuite/@failures)' "$xml")" = 2 ]
}

@test "--junit reports timeouts as failures and unreadable inputs as errors" {
  local xml="$BATS_TEST_TMPDIR/report.xml" c="$BATS_TEST_TMPDIR/corpus"
  mkdir "$c"
  printf 0 >"$c/a"
  printf 0 >"$c/b"
  # While a runs (and times out), the target turns b into a FIFO, which cannot be read as an input.
  run -2 --separate-stderr "$FORKSRV" --junit "$xml" -t 200 -i "$c" -- /bin/sh -c \
    "rm -f '$c/b'; mkfifo '$c/b'; sleep 2"
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(//testcase[1]/failure/@type)' "$xml")" = timeout ]
  [ "$(xmllint --xpath 'string(//testcase[1]/failure/@message)' "$xml")" = "timed out: no result within 200 ms" ]
  [ "$(xmllint --xpath 'string(//testcase[2]/error/@message)' "$xml")" = "Invalid argument" ]
  [ "$(xmllint --xpath 'string(/testsuites/@errors)' "$xml")" = 1 ]
}

@test "--junit keeps the XML well-formed whatever bytes the target writes" {
  local xml="$BATS_TEST_TMPDIR/report.xml"
  run -1 --separate-stderr "$FORKSRV" --junit "$xml" -i "$(input a 'segv')" -- \
    /bin/sh -c 'printf "<&>\"\001\377\303\251]]>\n" >&2; kill -SEGV $$'
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(//failure)' "$xml")" = "$(printf '<&>"\357\277\275\357\277\275é]]>\n')" ]
}

@test "--shard I/N: the shards are disjoint, their union is every input once, and -i order does not matter" {
  local c all="" s
  c=$(corpus)
  for s in 1 2 3; do
    run --separate-stderr "$FORKSRV" --json -t 300 --shard "$s/3" -i "$c/sub" -i "$c" -- "$T/crash"
    [ "$status" -le 1 ]
    all="$all$(grep -o '"input":"[^"]*"' <<<"$output")"$'\n'
  done
  [ "$(sort <<<"$all" | sed '/^$/d')" = "$(find "$c" -type f -printf '"input":"%p"\n' | sort)" ]
  # the same slice whatever the order of -i
  run --separate-stderr "$FORKSRV" --json --shard 2/3 -i "$c" -- "$T/crash"
  local one="$output"
  run --separate-stderr "$FORKSRV" --json --shard 2/3 -i "$c/sub" -i "$c/a" -i "$c/b" -i "$c/e" -- "$T/crash"
  [ "$(outcomes <<<"$one")" = "$(outcomes <<<"$output")" ]
}

@test "--shard: more shards than inputs leaves some empty, which succeed; bad values are usage errors" {
  run -0 --separate-stderr "$FORKSRV" --shard 7/9 -i "$(input a 0)" -- "$T/exit_code"
  [[ "$stderr" == "forksrv: 0 executions in "* ]]
  run -2 --separate-stderr "$FORKSRV" --shard 4/3 -i "$(input b 0)" -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --shard wants I/N with 1 <= I <= N <= 4294967295, not '4/3'" ]
  run -2 --separate-stderr "$FORKSRV" --shard 1/2 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --shard needs inputs (-i)" ]
}

@test "--crashes keeps the input, its stderr and a command that reproduces the crash without forksrv" {
  local dir="$BATS_TEST_TMPDIR/crashes"
  run -1 --separate-stderr "$FORKSRV" --crashes "$dir" -i "$(input a segv)" -- "$T/asan_clang"
  [ "$(cat "$dir/a")" = segv ]
  grep -q 'ERROR: AddressSanitizer: SEGV' "$dir/a.stderr"
  [ "$(wc -l <"$dir/a.repro")" -eq 1 ]
  cd /
  run bash "$dir/a.repro"
  [ "$status" -eq 134 ]
  [[ "$output" == *"ERROR: AddressSanitizer: SEGV"* ]]
}

@test "--crashes: a reproduce command for @@ targets, and inputs of the same name both kept" {
  local dir="$BATS_TEST_TMPDIR/crashes"
  mkdir -p "$BATS_TEST_TMPDIR/x" "$BATS_TEST_TMPDIR/y"
  printf segv >"$BATS_TEST_TMPDIR/x/same"
  printf abort >"$BATS_TEST_TMPDIR/y/same"
  run -1 --separate-stderr "$FORKSRV" --crashes "$dir" -i "$BATS_TEST_TMPDIR/x" -i "$BATS_TEST_TMPDIR/y" -- "$T/crash" @@
  [ "$(cat "$dir/same")" = segv ]
  [ "$(cat "$dir/same-2")" = abort ]
  run bash "$dir/same-2.repro"
  [ "$status" -eq 134 ]
  run bash "$dir/same.repro"
  [ "$status" -eq 139 ]
}

@test "--crashes: a harness main's .repro ends as forksrv reported, by the signal, not libFuzzer's exit 77" {
  local dir="$BATS_TEST_TMPDIR/crashes"
  run -1 --separate-stderr "$FORKSRV" --crashes "$dir" -i "$(input a segv)" -- "$T/harness"
  [[ "${stderr_lines[-1]}" == "forksrv: 1 executions in "*": 0 exited (0 non-zero), 1 crashed, 0 timed out" ]]
  grep -q ' FORKSRV_PLAIN=1 ' "$dir/a.repro"
  cd /
  run bash "$dir/a.repro"
  [ "$status" -eq 139 ]
}
