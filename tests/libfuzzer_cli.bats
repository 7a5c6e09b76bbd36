#!/usr/bin/env bats
# The harness main (libforksrv_main.a) takes libFuzzer's command line, as OSS-Fuzz and ClusterFuzz
# scripts call a fuzz target to reproduce a crash or replay a corpus, and answers as libFuzzer does:
# each case runs tests/targets/harness.c built with libforksrv_main.a and built with clang's
# -fsanitize=fuzzer, with the same flags and inputs, and compares what they print, how they exit
# and the artifacts they write.
load helpers

LF="$T/harness_libfuzzer"

setup() {
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR" "$BATS_TEST_TMPDIR/in"
  export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  unset LD_PRELOAD ASAN_OPTIONS FORKSRV_FIFO_IN FORKSRV_FIFO_OUT FORKSRV_DEBUG HARNESS_PRINTS
  [ -x "$LF" ] || skip "clang's libFuzzer runtime is missing (scripts/test-deps.sh installs libclang-rt-dev)"
  for word in ok segv abort hang slow oom leak 7 abortXYZ; do input "$word" "$word" >/dev/null; done
}

# What either prints, without what only libFuzzer prints (its start-up INFO lines, the stack trace
# of its own frames, its fuzzing statistics) and what differs run to run (pids, times, addresses,
# the program's name, the RSS measured).
normal() {
  grep -v -e '^INFO: \(Running with\|Seed\|Loaded\|-max_len\|seed corpus\|A corpus\)' -e '^    #' \
    -e '^#[0-9]*[[:space:]]*\(INITED\|DONE\)' -e '^INFO: .*: ignored: this main runs inputs' "$1" |
    sed -e 's/==[0-9]*==/==PID==/' -e 's/ in [0-9]* ms$/ in N ms/' -e 's/ in [0-9]* second(s)$/ in N second(s)/' \
      -e 's/^[^ ]*: Running \([0-9]* inputs\)/PROG: Running \1/' -e 's/used: [0-9]*Mb/used: NMb/' \
      -e 's/(pc 0x[0-9a-f]* bp 0x[0-9a-f]* sp 0x[0-9a-f]* T[0-9]*)/(pc bp sp)/' -e 's/ T[0-9]*)$/)/' \
      -e 's|^\(SUMMARY: AddressSanitizer: [A-Za-z-]*\) .*|\1|'
}

# both OURS REF ARGS...: each in a directory of its own; then their stderr, exit status and the
# files they left (artifacts) must be the same. Its output is ours, for further checks.
both() {
  local ours=$1 ref=$2 side
  shift 2
  for side in ours ref; do
    rm -rf "$BATS_TEST_TMPDIR/$side" && mkdir "$BATS_TEST_TMPDIR/$side"
    local bin=$ours
    [ "$side" = ref ] && bin=$ref
    (
      cd "$BATS_TEST_TMPDIR/$side"
      code=0
      timeout 60 "$bin" "$@" >out 2>err || code=$?
      echo "$code" >status
    )
  done
  diff <(normal "$BATS_TEST_TMPDIR/ref/err") <(normal "$BATS_TEST_TMPDIR/ours/err")
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = "$(cat "$BATS_TEST_TMPDIR/ref/status")" ]
  diff <(cd "$BATS_TEST_TMPDIR/ref" && ls) <(cd "$BATS_TEST_TMPDIR/ours" && ls)
  for f in "$BATS_TEST_TMPDIR"/ref/*-*; do
    [ -e "$f" ] || continue
    cmp "$f" "$BATS_TEST_TMPDIR/ours/${f##*/}"
  done
}

# A directory holding the inputs named (and only them).
dir_of() {
  local d="$BATS_TEST_TMPDIR/dir-$(IFS=-; echo "$*")"
  mkdir -p "$d"
  for name in "$@"; do cp "$BATS_TEST_TMPDIR/in/$name" "$d/"; done
  echo "$d"
}

@test "files named: each runs as libFuzzer's reproducer mode runs it, with its lines and exit codes" {
  local in="$BATS_TEST_TMPDIR/in"
  both "$T/harness" "$LF" "$in/ok"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 0 ]
  grep -qx 'Running: .*/in/ok' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" "$in/abort"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 77 ]
  grep -qx 'SUMMARY: libFuzzer: deadly signal' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" "$in/7"
  grep -qx 'SUMMARY: libFuzzer: fuzz target exited' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -timeout=1 "$in/hang"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 70 ]
  grep -qx '==[0-9]*== ERROR: libFuzzer: timeout after 1 seconds' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -runs=3 "$in/ok" "$in/7"
  grep -qx '.*: Running 2 inputs 3 time(s) each\.' "$BATS_TEST_TMPDIR/ours/err"
}

@test "directories: every input runs once, and a failing one is written as crash-, timeout- or oom-<sha1>" {
  both "$T/harness" "$LF" -runs=0 "$(dir_of ok)"
  grep -qx 'Done 2 runs in [0-9]* second(s)' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -runs=0 "$(dir_of ok abort)"
  # sha1 of "abort"
  [ -f "$BATS_TEST_TMPDIR/ours/crash-b61646f016483b318b49a910668a966b6ce09ede" ]
  grep -qx "artifact_prefix='./'; Test unit written to ./crash-b61646f016483b318b49a910668a966b6ce09ede" "$BATS_TEST_TMPDIR/ours/err"
  grep -qx 'Base64: YWJvcnQ=' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -runs=0 -timeout=1 "$(dir_of ok hang)"
  [ -f "$BATS_TEST_TMPDIR/ours/timeout-824ee68a8c81717087d431d66b6efaa8b63147cd" ]
  both "$T/harness" "$LF" -runs=0 "$(dir_of ok 7)"
  both "$T/harness" "$LF" -runs=0 -timeout=30 -rss_limit_mb=300 "$(dir_of oom)"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 71 ]
  [ -f "$BATS_TEST_TMPDIR/ours/oom-174b35fe9374cf070609b22ae0bc83d763d02d29" ]
}

@test "an input that runs less than the timeout, however close, is no timeout; files named with a dot run too" {
  both "$T/harness" "$LF" -timeout=1 -runs=4 "$BATS_TEST_TMPDIR/in/slow"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 0 ]
  local d
  d=$(dir_of ok)
  cp "$BATS_TEST_TMPDIR/in/abort" "$d/.hidden"
  mkdir "$d/.git" && cp "$BATS_TEST_TMPDIR/in/segv" "$d/.git/x"
  both "$T/harness" "$LF" -runs=0 "$d"
  [ -f "$BATS_TEST_TMPDIR/ours/crash-b61646f016483b318b49a910668a966b6ce09ede" ]
}

@test "-artifact_prefix and -exact_artifact_path say where the failing input goes" {
  local d
  d=$(dir_of ok abort)
  both "$T/harness" "$LF" -runs=0 -artifact_prefix=found- "$d"
  [ -f "$BATS_TEST_TMPDIR/ours/found-crash-b61646f016483b318b49a910668a966b6ce09ede" ]
  both "$T/harness" "$LF" -runs=0 -exact_artifact_path=the-crash "$d"
  cmp "$BATS_TEST_TMPDIR/ours/the-crash" "$BATS_TEST_TMPDIR/in/abort"
  # Empty is unset; a directory that does not exist ends the run before any input.
  both "$T/harness" "$LF" -runs=0 -exact_artifact_path= "$d"
  both "$T/harness" "$LF" -runs=0 -artifact_prefix="$BATS_TEST_TMPDIR/none/" "$d"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 1 ]
  both "$T/harness" "$LF" -runs=0 -exact_artifact_path="$BATS_TEST_TMPDIR/none/f" "$d"
}

@test "-rss_limit_mb and -max_len: an input over the memory limit, and inputs cut to a length" {
  both "$T/harness" "$LF" -timeout=30 -rss_limit_mb=300 "$BATS_TEST_TMPDIR/in/oom"
  grep -qx '==[0-9]*== ERROR: libFuzzer: out-of-memory (used: [0-9]*Mb; limit: 300Mb)' "$BATS_TEST_TMPDIR/ours/err"
  # "abortXYZ" cut to "abort" crashes; with -max_len libFuzzer prints the input it ran, cut or not.
  both "$T/harness" "$LF" -max_len=5 "$BATS_TEST_TMPDIR/in/abortXYZ"
  grep -qx 'abort' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -max_len=100 "$BATS_TEST_TMPDIR/in/abort"
  grep -qx 'abort' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness" "$LF" -runs=0 -max_len=5 "$(dir_of abortXYZ)"
  cmp "$BATS_TEST_TMPDIR/ours/crash-b61646f016483b318b49a910668a966b6ce09ede" "$BATS_TEST_TMPDIR/in/abort"
}

@test "-close_fd_mask sends the target's stdout, stderr or both to /dev/null, and libFuzzer's lines still come" {
  export HARNESS_PRINTS=1
  for mask in 0 1 2 3; do
    both "$T/harness" "$LF" -close_fd_mask=$mask "$BATS_TEST_TMPDIR/in/ok"
    diff "$BATS_TEST_TMPDIR/ref/out" "$BATS_TEST_TMPDIR/ours/out"
  done
  [ ! -s "$BATS_TEST_TMPDIR/ours/out" ]
  grep -qx 'Running: .*/in/ok' "$BATS_TEST_TMPDIR/ours/err"
  ! grep -q '^err ' "$BATS_TEST_TMPDIR/ours/err"
}

@test "under AddressSanitizer its report comes as libFuzzer's does, and the artifact after it" {
  [ -x "$T/harness_asan" ] || skip "clang's ASan runtime is missing"
  both "$T/harness_asan" "$T/harness_libfuzzer_asan" "$BATS_TEST_TMPDIR/in/segv"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 1 ]
  grep -qx 'SUMMARY: AddressSanitizer: SEGV .* in LLVMFuzzerTestOneInput' "$BATS_TEST_TMPDIR/ours/err"
  both "$T/harness_asan" "$T/harness_libfuzzer_asan" -runs=0 "$(dir_of ok segv)"
  [ -f "$BATS_TEST_TMPDIR/ours/crash-e719f94e7021ebc5ce18e6bed88195a7ff6a8a75" ]
  # A leak is found at exit, when no input runs: LeakSanitizer reports it, and no artifact is written
  # (libFuzzer checks for leaks after each input and writes leak-<sha1>: a difference, in docs/design.md).
  run -1 --separate-stderr bash -c 'cd "$1" && exec "$2" -runs=0 "$3"' _ "$BATS_TEST_TMPDIR" "$T/harness_asan" "$(dir_of ok leak)"
  [[ "$stderr" == *"ERROR: LeakSanitizer: detected memory leaks"* ]]
  [ -z "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'crash-*')" ]
}

@test "flags it does not implement are accepted with one line each; unknown ones get libFuzzer's warning" {
  run -0 --separate-stderr "$T/harness" -dict=none.dict -seed=1 -use_value_profile=1 "$BATS_TEST_TMPDIR/in/ok"
  [ "$(grep -c 'ignored: this main runs inputs, it does not fuzz$' <<<"$stderr")" -eq 3 ]
  grep -qx 'INFO: -dict=none.dict: ignored: this main runs inputs, it does not fuzz' <<<"$stderr"
  run -0 --separate-stderr "$T/harness" -no_such_flag=1 "$BATS_TEST_TMPDIR/in/ok"
  run --separate-stderr "$LF" -no_such_flag=1 "$BATS_TEST_TMPDIR/in/ok"
  grep -qx "WARNING: unrecognized flag '-no_such_flag=1'; use -help=1 to list all flags" <<<"$stderr"
  run -0 --separate-stderr "$T/harness" -no_such_flag=1 "$BATS_TEST_TMPDIR/in/ok"
  grep -qx "WARNING: unrecognized flag '-no_such_flag=1'; use -help=1 to list all flags" <<<"$stderr"
}

@test "-help=1 lists the flags it implements and exits 0, as libFuzzer's does" {
  run -0 --separate-stderr "$T/harness" -help=1
  [ "${stderr%%$'\n'*}" = "Usage:" ]
  for flag in runs timeout rss_limit_mb max_len artifact_prefix exact_artifact_path close_fd_mask help; do
    grep -q "^ $flag " <<<"$stderr"
  done
  run -0 "$LF" -help=1
}

@test "a path that does not exist ends the run with libFuzzer's line and status 1" {
  both "$T/harness" "$LF" "$BATS_TEST_TMPDIR/none"
  [ "$(cat "$BATS_TEST_TMPDIR/ours/status")" = 1 ]
  grep -qx "ERROR: The required directory \"$BATS_TEST_TMPDIR/none\" does not exist" "$BATS_TEST_TMPDIR/ours/err"
}

@test "under the forksrv driver the flags change nothing but -max_len, and outcomes stay the program's own" {
  # Run directly, the program answers as libFuzzer; as forksrv runs it (FORKSRV_PLAIN=1 for its plain
  # runs), each outcome is the true one: that is the reference here.
  FORKSRV_PLAIN=1 same_as_plain -t 300 -i "$(dir_of ok 7 abort segv hang abortXYZ)" -- "$T/harness" -runs=5 -timeout=1 @@
  run -1 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/in/abortXYZ" -- "$T/harness" -max_len=5 @@
  [[ "$output" == *'"result":"crashed","signal":"SIGABRT"'* ]]
}
