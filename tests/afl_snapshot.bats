#!/usr/bin/env bats
# AFL++ with snapshot reset: FORKSRV_RESET=snapshot and AFL_PRELOAD=libforksrv.so, driven by the real
# afl-fuzz and afl-showmap of each afl++ here (4.04c, 4.21c), on an uninstrumented target under -n
# and on an afl-clang-fast build, where forksrv's server takes the fork-server role. The target,
# afl_state, aborts when it sees what an earlier execution left behind (a global, the heap, a fd):
# a SIGABRT crash means state leaked. It logs its pid per execution, to tell which shared a process.
load helpers

setup_file() {
  command -v afl-clang-fast >/dev/null || return 0
  afl-clang-fast -O1 -I "$BATS_TEST_DIRNAME/targets" -o "$BATS_FILE_TMPDIR/afl_state_cov" \
    "$BATS_TEST_DIRNAME/targets/afl_state.c" >/dev/null 2>&1
  afl-clang-fast -O1 -o "$BATS_FILE_TMPDIR/afl_loop_cov" "$BATS_TEST_DIRNAME/targets/afl_loop.c" >/dev/null 2>&1
  # afl-clang-lto needs lld; where it builds, its map is checked too.
  afl-clang-lto -O1 -I "$BATS_TEST_DIRNAME/targets" -o "$BATS_FILE_TMPDIR/afl_state_lto" \
    "$BATS_TEST_DIRNAME/targets/afl_state.c" >/dev/null 2>&1 || true
}

setup() {
  command -v afl-fuzz >/dev/null || skip "afl++ is not installed (scripts/test-deps.sh installs it)"
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR" "$BATS_TEST_TMPDIR/seeds"
  export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  unset LD_PRELOAD ASAN_OPTIONS FORKSRV_FIFO_IN FORKSRV_FIFO_OUT FORKSRV_DEBUG AFL_PRELOAD AFL_DUMB_FORKSRV FORKSRV_RESET
  export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
  export AFL_STATE_PIDS="$BATS_TEST_TMPDIR/pids"
  printf 'hello' >"$BATS_TEST_TMPDIR/seeds/a"
  COV="$BATS_FILE_TMPDIR/afl_state_cov"
}

# Bounded: a server that never answers would hang afl-fuzz and its tools for good.
snapshot() {
  AFL_PRELOAD="$B/libforksrv.so" FORKSRV_RESET=snapshot timeout 120 "$@"
}

# The first CPU this test may use, to run on one as afl-fuzz binds itself and its children unless
# AFL_NO_AFFINITY is set.
first_cpu() {
  local cpus
  cpus=$(taskset -pc $$)
  cpus=${cpus##*: }
  echo "${cpus%%[-,]*}"
}

# Executions logged, and the processes they ran in.
executions() { wc -l <"$AFL_STATE_PIDS"; }
processes() { sort -u "$AFL_STATE_PIDS" | wc -l; }

# What afl-fuzz found in its output directory $1: the planted SIGSEGV and hang, and no SIGABRT (no
# state leaked).
assert_found() {
  ls "$1/crashes" | grep -q '^id:.*sig:11'
  run -1 grep 'sig:06' <(ls "$1/crashes")
  ls "$1/hangs" | grep -q '^id:'
}

# The reference for afl-showmap's outcome maps (FORKSRV_AFL_MAP=outcome): each input of
# $BATS_TEST_TMPDIR/in run directly by program $1, its map written to $BATS_TEST_TMPDIR/direct.
direct_maps() {
  mkdir -p "$BATS_TEST_TMPDIR/direct"
  for f in "$BATS_TEST_TMPDIR"/in/*; do
    status=0
    { "$1" <"$f" >/dev/null 2>&1; } 2>/dev/null || status=$? # the shell's own line on a signal, too
    printf '%06d:1\n' $((status > 128 ? 257 + status - 128 : 1 + status)) >"$BATS_TEST_TMPDIR/direct/${f##*/}"
  done
}

# Each argument an input of $BATS_TEST_TMPDIR/in, named by its place.
inputs() {
  mkdir -p "$BATS_TEST_TMPDIR/in"
  local i=0
  for input in "$@"; do printf '%s' "$input" >"$BATS_TEST_TMPDIR/in/$((i++))"; done
}

# afl-showmap's outcome maps of reset's inputs with snapshot reset, run under the command prefix given
# (taskset, or none), are the direct run's; what the server said is in $server_said. (afl-showmap -i
# exits with the last input's outcome: its maps are what is checked.)
maps_are_direct() {
  rm -rf "$BATS_TEST_TMPDIR/maps"
  AFL_DEBUG_CHILD=1 run snapshot "$@" afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/reset"
  diff -r "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/maps"
  server_said=$output
}

# Line $1 is in $server_said exactly once.
said_once() {
  run -0 grep -c -F "$1" <<<"$server_said"
  [ "$output" = 1 ]
}

# Nothing of the instrumented target outlives afl-fuzz.
assert_cov_gone() {
  run -1 pgrep -f "^$COV"
}

@test "afl-fuzz -n with snapshot reset puts each child back for the next input, with the fresh state, and finds the planted crash and hang" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -f "$AFL_STATE_PIDS"
    run -0 snapshot env AFL_DUMB_FORKSRV=1 afl-fuzz -n -V 10 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_state"
    assert_found "$BATS_TEST_TMPDIR/out"
    [ "$(executions)" -gt 100 ]
    # Fresh forks only after the crashes and hangs: most executions shared a process.
    [ $(( $(processes) * 5 )) -lt "$(executions)" ]
    assert_no_leftovers
  done
}

@test "an afl-clang-fast target is served by forksrv with snapshot reset: coverage, the planted crash and hang, and the fresh state each time" {
  [ -x "$COV" ] || skip "afl-clang-fast could not build the target"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -f "$AFL_STATE_PIDS"
    run -0 snapshot afl-fuzz -V 10 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$COV"
    assert_found "$BATS_TEST_TMPDIR/out/default"
    # AFL++'s own server in the program would fork for every execution.
    [ $(( $(processes) * 5 )) -lt "$(executions)" ]
    # afl-fuzz was told the program's map, not its default of 8 MiB, and saw coverage grow.
    total=$(awk -F': ' '/^total_edges/ { print $2 }' "$BATS_TEST_TMPDIR/out/default/fuzzer_stats")
    [ "$total" -lt 1024 ]
    [ "$(awk -F': ' '/^corpus_count/ { print $2 }' "$BATS_TEST_TMPDIR/out/default/fuzzer_stats")" -gt 1 ]
    assert_cov_gone
    assert_no_leftovers
  done
}

@test "without forksrv the same afl-clang-fast target forks for every execution: the process count above is snapshot reset's doing" {
  [ -x "$COV" ] || skip "afl-clang-fast could not build the target"
  use_afl /usr/bin
  rm -f "$AFL_STATE_PIDS"
  run -0 afl-fuzz -V 3 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$COV"
  [ "$(executions)" -gt 100 ]
  [ "$(processes)" -eq "$(executions)" ]
}

@test "afl-showmap gives each input the same map with AFL++'s own server, forksrv's fork and forksrv's snapshot reset" {
  [ -x "$COV" ] || skip "afl-clang-fast could not build the target"
  inputs a b c d hello '!crash' zz 0123
  local builds=("$COV")
  if [ -x "$BATS_FILE_TMPDIR/afl_state_lto" ]; then builds+=("$BATS_FILE_TMPDIR/afl_state_lto"); fi
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    for build in "${builds[@]}"; do
      rm -rf "$BATS_TEST_TMPDIR"/maps.*
      # afl-showmap -i exits with the last input's outcome (2 if it crashed): its maps are checked.
      afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.own" -- "$build" >/dev/null 2>&1 || true
      AFL_PRELOAD="$B/libforksrv.so" afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.fork" -- "$build" >/dev/null 2>&1 || true
      snapshot afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.snapshot" -- "$build" >/dev/null 2>&1 || true
      # FORKSRV_AFL_MAP=outcome writes no outcome bytes into a program's own coverage.
      FORKSRV_AFL_MAP=outcome snapshot afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.outcome" -- "$build" >/dev/null 2>&1 || true
      [ "$(ls "$BATS_TEST_TMPDIR/maps.own" | wc -l)" -eq 8 ]
      [ -s "$BATS_TEST_TMPDIR/maps.own/4" ] # hello
      diff -r "$BATS_TEST_TMPDIR/maps.own" "$BATS_TEST_TMPDIR/maps.fork"
      diff -r "$BATS_TEST_TMPDIR/maps.own" "$BATS_TEST_TMPDIR/maps.snapshot"
      diff -r "$BATS_TEST_TMPDIR/maps.own" "$BATS_TEST_TMPDIR/maps.outcome"
    done
    assert_cov_gone
    assert_no_leftovers
  done
}

@test "a snapshot child that cannot be put back is discarded: each outcome is the direct run's, on all CPUs and on one, and one line says why, once" {
  # "patch N" writes a read-only mapping of the fork point (made writable for it), which no put-back
  # undoes, and exits N (told before the child ends); "thread" leaves a thread running; "late N"
  # writes the 64 MiB heap and exits N, and a helper kills the child during the put-back.
  inputs thread 3 'patch 3' thread 5 segv 7 'patch 4' 0 'late 5' 2 'late 6'
  export HEAP_MB=64
  direct_maps "$T/reset"
  grep -qx '000004:1' "$BATS_TEST_TMPDIR/direct/2"
  grep -qx '000006:1' "$BATS_TEST_TMPDIR/direct/9"
  local thread memory
  thread=$(said "forksrv: note: a snapshot child left a thread running: the next input gets a fresh fork (said once)")
  memory=$(said "forksrv: note: a snapshot child changed memory beyond putting back (unmapped a mapping of the fork point that cannot be made anew, or wrote one that was read-only there): the next input gets a fresh fork (said once)")
  export FORKSRV_AFL_MAP=outcome FORKSRV_START=main
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    maps_are_direct
    said_once "$thread"
    said_once "$memory"
    # On one CPU (as afl-fuzz binds itself), the child tells its outcome after its put-back.
    maps_are_direct taskset -c "$(first_cpu)"
    said_once "$thread"
    said_once "$memory"
    assert_no_leftovers
  done
  unset FORKSRV_AFL_MAP FORKSRV_START HEAP_MB
}

@test "a snapshot that cannot be recorded (no room for its fds under the fd limit): one warning, and each input's outcome is the direct run's" {
  inputs 0 3 segv 5 thread 7
  # reset's constructor sets both fd limits to $NOFILE, before the fork point at main.
  export NOFILE=12 FORKSRV_AFL_MAP=outcome FORKSRV_START=main
  direct_maps "$T/reset"
  local warning
  warning=$(said "forksrv: warning: snapshot reset could not record the state at the fork point: no room for its fds under the fd limit (RLIMIT_NOFILE): each input gets a fresh fork")
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    maps_are_direct
    said_once "$warning"
    said_once "$(said "forksrv: ")"
    assert_no_leftovers
  done
  unset NOFILE FORKSRV_AFL_MAP FORKSRV_START
}

@test "on one CPU, where afl-fuzz binds itself and its children, the planted crash and hang are found with the fresh state each time, and afl-showmap's maps are those of AFL++'s own server" {
  [ -x "$COV" ] || skip "afl-clang-fast could not build the target"
  inputs a b hello '!crash' zz 0123
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -rf "$AFL_STATE_PIDS" "$BATS_TEST_TMPDIR"/maps.*
    run -0 snapshot taskset -c "$(first_cpu)" afl-fuzz -V 10 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$COV"
    assert_found "$BATS_TEST_TMPDIR/out/default"
    [ $(( $(processes) * 5 )) -lt "$(executions)" ]
    afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.own" -- "$COV" >/dev/null 2>&1 || true
    snapshot taskset -c "$(first_cpu)" afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps.snapshot" -- "$COV" >/dev/null 2>&1 || true
    [ "$(ls "$BATS_TEST_TMPDIR/maps.own" | wc -l)" -eq 6 ]
    diff -r "$BATS_TEST_TMPDIR/maps.own" "$BATS_TEST_TMPDIR/maps.snapshot"
    # A helper left in the background ends, and the server reaps it, while the input hangs: afl-showmap
    # still learns the pid, so that its timeout strikes (a SIGCHLD is not the input's end).
    mkdir -p "$BATS_TEST_TMPDIR/orphans"
    printf '&~' >"$BATS_TEST_TMPDIR/orphans/1"
    printf '&1' >"$BATS_TEST_TMPDIR/orphans/2"
    printf '&~' >"$BATS_TEST_TMPDIR/orphans/3"
    rm -rf "$BATS_TEST_TMPDIR/maps.orphans"
    run snapshot taskset -c "$(first_cpu)" afl-showmap -t 200 -i "$BATS_TEST_TMPDIR/orphans" -o "$BATS_TEST_TMPDIR/maps.orphans" -- "$COV"
    [ "$status" -ne 124 ]
    [ "$(ls "$BATS_TEST_TMPDIR/maps.orphans" | wc -l)" -eq 3 ]
    assert_cov_gone
    assert_no_leftovers
  done
}

# How many of the parking words in $1 (an strace -xx log) said "done" (FSRV_PARK_DONE plus the exit
# code, the low half) and "ready" (the high half) at once.
done_and_ready() {
  grep -cE 'write\([0-9]+, "\\x(0[1-9a-f]|[1-9a-f][0-9a-f])\\x00\\x00\\x00\\x01\\x00\\x00\\x00", 8\) = 8$' "$1" || true
}

@test "on one CPU a parked child says its input is done only after its put-back, with ready; on all CPUs, before it" {
  command -v strace >/dev/null || skip "strace is not installed (scripts/test-deps.sh installs it)"
  inputs 1 2 3 0 1 2
  export FORKSRV_AFL_MAP=outcome
  rm -rf "$BATS_TEST_TMPDIR/maps"
  snapshot strace -f -qq -xx -e trace=write -o "$BATS_TEST_TMPDIR/one" taskset -c "$(first_cpu)" \
    afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/reset" >/dev/null 2>&1 || true
  # Every input after the first ran in the parked child.
  [ "$(done_and_ready "$BATS_TEST_TMPDIR/one")" -ge 5 ]
  rm -rf "$BATS_TEST_TMPDIR/maps"
  snapshot strace -f -qq -xx -e trace=write -o "$BATS_TEST_TMPDIR/all" \
    afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/reset" >/dev/null 2>&1 || true
  [ "$(done_and_ready "$BATS_TEST_TMPDIR/all")" -eq 0 ]
  # There the ready words came on their own.
  [ "$(grep -cE 'write\([0-9]+, "\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00", 8\) = 8$' "$BATS_TEST_TMPDIR/all")" -ge 5 ]
  unset FORKSRV_AFL_MAP
}

@test "a program built for AFL++'s persistent loop keeps AFL++'s own server, which forksrv would only slow, and says so" {
  [ -x "$BATS_FILE_TMPDIR/afl_loop_cov" ] || skip "afl-clang-fast could not build the target"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_DEBUG_CHILD=1 run -0 snapshot afl-fuzz -V 5 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$BATS_FILE_TMPDIR/afl_loop_cov"
    [[ "$output" == *"$(said "forksrv: warning: a program built for AFL++'s persistent loop keeps AFL++'s own fork server: FORKSRV_RESET=snapshot does not apply")"* ]]
    ls "$BATS_TEST_TMPDIR/out/default/crashes" | grep -q '^id:.*sig:11'
    # A stopped child that nobody continues would time out on every input instead.
    [ "$(awk -F': ' '/^saved_hangs/ { print $2 }' "$BATS_TEST_TMPDIR/out/default/fuzzer_stats")" -eq 0 ]
    [ "$(awk -F': ' '/^execs_done/ { print $2 }' "$BATS_TEST_TMPDIR/out/default/fuzzer_stats")" -gt 1000 ]
  done
}
