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

# The slice --shard I/N gives: what --shard auto must give from each engine's variables, whatever
# engine runs the suite itself.
ENGINES=(-u CI_NODE_INDEX -u CI_NODE_TOTAL -u CIRCLE_NODE_INDEX -u CIRCLE_NODE_TOTAL -u BUILDKITE_PARALLEL_JOB
  -u BUILDKITE_PARALLEL_JOB_COUNT -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_MIN -u SLURM_ARRAY_TASK_STEP
  -u SLURM_ARRAY_TASK_COUNT -u JOB_COMPLETION_INDEX -u AWS_BATCH_JOB_ARRAY_INDEX)
slice() {
  local vars=()
  while [[ "$1" == *=* ]]; do vars+=("$1"); shift; done
  env "${ENGINES[@]}" "${vars[@]}" "$FORKSRV" --json -t 300 "$@" -i "$SHARD_CORPUS" -- "$T/crash" 2>/dev/null | grep -o '"input":"[^"]*"'
}

@test "--shard auto takes each engine's own spelling and counting of the shard: GitLab, CircleCI, Buildkite, Slurm" {
  SHARD_CORPUS=$(corpus)
  local want
  want=$(slice --shard 2/3)
  [ -n "$want" ]
  [ "$(slice CI_NODE_INDEX=2 CI_NODE_TOTAL=3 --shard auto)" = "$want" ]
  [ "$(slice CIRCLE_NODE_INDEX=1 CIRCLE_NODE_TOTAL=3 --shard auto)" = "$want" ]
  [ "$(slice BUILDKITE_PARALLEL_JOB=1 BUILDKITE_PARALLEL_JOB_COUNT=3 --shard auto)" = "$want" ]
  # An array 10-14:2 has tasks 10, 12 and 14: 12 is its second.
  [ "$(slice SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=3 --shard auto)" = "$want" ]
  run --separate-stderr env "${ENGINES[@]}" CI_NODE_INDEX=3 CI_NODE_TOTAL=3 "$FORKSRV" -v --shard auto -i "$SHARD_CORPUS" -- "$T/crash"
  [ "$status" -le 1 ]
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: shard 3/3, from GitLab CI" ]
  # A GitLab job that is not parallel has CI_NODE_TOTAL=1 and no index: the one shard, every input.
  [ "$(slice CI_NODE_TOTAL=1 --shard auto)" = "$(slice --shard 1/1)" ]
}

@test "--shard auto/N: an engine that gives the index alone (a Kubernetes Indexed Job, AWS Batch) takes the count given" {
  SHARD_CORPUS=$(corpus)
  local want
  want=$(slice --shard 1/2)
  [ -n "$want" ]
  [ "$(slice JOB_COMPLETION_INDEX=0 --shard auto/2)" = "$want" ]
  [ "$(slice AWS_BATCH_JOB_ARRAY_INDEX=0 --shard auto/2)" = "$want" ]
  run -2 --separate-stderr env "${ENGINES[@]}" JOB_COMPLETION_INDEX=0 "$FORKSRV" --shard auto -i "$SHARD_CORPUS" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: JOB_COMPLETION_INDEX gives no shard count: say it with --shard auto/N" ]
  run -2 --separate-stderr env "${ENGINES[@]}" JOB_COMPLETION_INDEX=2 "$FORKSRV" --shard auto/2 -i "$SHARD_CORPUS" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: JOB_COMPLETION_INDEX=2 is not one of the 2 shards (auto/N)" ]
}

@test "--shard auto with no engine's shard set, or a wrong one, is a usage error naming it" {
  local c
  c=$(corpus)
  run -2 --separate-stderr env "${ENGINES[@]}" "$FORKSRV" --shard auto -i "$c" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: no CI or batch engine's shard is set (GitLab's CI_NODE_INDEX, CircleCI's CIRCLE_NODE_INDEX, Buildkite's BUILDKITE_PARALLEL_JOB, Slurm's SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX, AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX)" ]
  run -2 --separate-stderr env "${ENGINES[@]}" CI_NODE_INDEX=x CI_NODE_TOTAL=3 "$FORKSRV" --shard auto -i "$c" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: CI_NODE_INDEX is 'x', not a whole number" ]
  run -2 --separate-stderr env "${ENGINES[@]}" CI_NODE_INDEX=0 CI_NODE_TOTAL=3 "$FORKSRV" --shard auto -i "$c" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: CI_NODE_INDEX=0 is not one of the 3 shards (CI_NODE_TOTAL)" ]
  run -2 --separate-stderr env "${ENGINES[@]}" CI_NODE_INDEX=1 CI_NODE_TOTAL=3 "$FORKSRV" --shard auto/4 -i "$c" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto/4: CI_NODE_TOTAL says 3 shards" ]
  run -2 --separate-stderr env "${ENGINES[@]}" CI_NODE_INDEX=1 "$FORKSRV" --shard auto -i "$c" -- "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: --shard auto: CI_NODE_INDEX is set but CI_NODE_TOTAL is not" ]
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
  [[ "${stderr_lines[-1]}" == "forksrv: 1 execution in "*": 0 exited (0 non-zero), 1 crashed, 0 timed out" ]]
  grep -q ' FORKSRV_PLAIN=1 ' "$dir/a.repro"
  cd /
  run bash "$dir/a.repro"
  [ "$status" -eq 139 ]
}

@test "--junit: a sanitizer's finding is in the failure's message, pids and addresses set aside, so that failures group by crash" {
  run -1 --separate-stderr "$FORKSRV" --junit "$BATS_TEST_TMPDIR/j.xml" -i "$(input a segv)" -i "$(input b segv)" -- "$T/asan_clang"
  run -0 xmllint --xpath 'string(//testcase[1]/failure/@message)' "$BATS_TEST_TMPDIR/j.xml"
  [[ "$output" == "crashed: SIGABRT: SUMMARY: AddressSanitizer: SEGV "*"crash.c:"*" in main" ]]
  local first="$output"
  run -0 xmllint --xpath 'string(//testcase[2]/failure/@message)' "$BATS_TEST_TMPDIR/j.xml"
  [ "$output" = "$first" ]
}
