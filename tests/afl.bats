#!/usr/bin/env bats
# AFL++ drives uninstrumented targets through libforksrv.so at fork-server speed: the real afl-fuzz,
# afl-tmin, afl-showmap and afl-cmin, speaking AFL++'s own protocol, each test once per afl++ here:
# Debian 12's 4.04c (the old fork-server model) and Debian 13's 4.21c (the new one), which
# scripts/test-deps.sh fetches into FORKSRV_PEERS.
load helpers

setup() {
  command -v afl-fuzz >/dev/null || skip "afl++ is not installed (scripts/test-deps.sh installs it)"
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR" "$BATS_TEST_TMPDIR/seeds"
  export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  unset LD_PRELOAD ASAN_OPTIONS FORKSRV_FIFO_IN FORKSRV_FIFO_OUT FORKSRV_DEBUG AFL_PRELOAD AFL_DUMB_FORKSRV
  # afl-fuzz's checks of the machine, which are about long campaigns, not about these tests.
  export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
  printf 'hello' >"$BATS_TEST_TMPDIR/seeds/a"
}

served() {
  AFL_PRELOAD="$B/libforksrv.so" AFL_DUMB_FORKSRV=1 "$@"
}

# The total executions in afl-fuzz's last plot_data line.
total_execs() {
  tail -n 1 "$1/plot_data" | awk -F', ' '{ print $12 }'
}

@test "afl-fuzz 4.21c, Debian 13's, is here to test against beside Debian 12's 4.04c" {
  [ -x "$CURRENT_AFL/afl-fuzz" ] || skip "Debian 13's afl++ was not fetched (make test fetches it): the tests below run against 4.04c only"
  use_afl "$CURRENT_AFL"
  [ "$AFL_VERSION" = 4.21c ]
}

@test "each afl-fuzz starts the server in the model it speaks, with no warning about it" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    run -0 served afl-fuzz -n -V 1 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain"
    [[ "$output" != *"Old fork server model"* ]]
    case $AFL_VERSION in
    4.04c) [[ "$output" == *"All right - fork server is up."* ]] ;;
    *) [[ "$output" == *"All right - new fork server model v1 is up."* ]] ;;
    esac
  done
}

@test "afl-fuzz -n with the preload finds the planted crash and hang, on stdin" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    # As through @@ below: ten seconds of random mutation, for a slow, shared machine (six missed once).
    run -0 served afl-fuzz -n -V 10 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain"
    [[ "$output" != *"SHARED MEMORY"* ]]
    ls "$BATS_TEST_TMPDIR/out/crashes" | grep -q '^id:.*sig:11'
    ls "$BATS_TEST_TMPDIR/out/hangs" | grep -q '^id:'
    grep -q '!' "$(ls -d "$BATS_TEST_TMPDIR"/out/crashes/id:* | head -n 1)"
    [ "$(total_execs "$BATS_TEST_TMPDIR/out")" -gt 100 ]
    assert_no_leftovers
  done
}

@test "afl-fuzz -n with the preload finds the planted crash through @@" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    # Random mutation finds the crash in seconds; ten of them leave room for a slow, shared machine.
    run -0 served afl-fuzz -n -V 10 -t 100 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain" @@
    ls "$BATS_TEST_TMPDIR/out/crashes" | grep -q '^id:.*sig:11'
    assert_no_leftovers
  done
}

@test "without the preload the same command fails the handshake: the preload is what serves it" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_DUMB_FORKSRV=1 run ! afl-fuzz -n -V 5 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain"
    [[ "$output" == *"Fork server handshake failed"* ]]
    assert_no_leftovers
  done
}

@test "a static target linked with libforksrv.a serves afl-fuzz without any preload" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_DUMB_FORKSRV=1 run -0 afl-fuzz -n -V 3 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/static_fsrv"
    [[ "$output" == *"fork server"*" is up."* ]]
    [[ "$output" != *"Old fork server model"* ]]
    [ "$(total_execs "$BATS_TEST_TMPDIR/out")" -gt 100 ]
  done
}

@test "the harness main serves afl-fuzz without any preload, and its crash is found" {
  [ -x "$B/examples/fuzz_records" ] || skip "make examples builds it"
  # A name record of exactly 13 bytes is the demo's planted crash; afl-fuzz needs to find 13 from 12.
  printf 'name:12:abcdefghijkl;' >"$BATS_TEST_TMPDIR/seeds/a"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_DUMB_FORKSRV=1 run -0 afl-fuzz -n -V 10 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$B/examples/fuzz_records"
    [[ "$output" != *"Old fork server model"* ]]
    ls "$BATS_TEST_TMPDIR/out/crashes" | grep -q '^id:.*sig:'
    assert_no_leftovers
  done
}

@test "grandchildren a target leaves behind do not outlive their execution under afl-fuzz" {
  printf 'fork' >"$BATS_TEST_TMPDIR/seeds/a"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    run -0 served afl-fuzz -n -V 3 -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain"
    # Each grandchild sleeps a minute; had they survived their execution, hundreds would be alive.
    assert_no_leftovers
  done
}

@test "afl-fuzz stopped by SIGINT leaves no process and no zombie behind" {
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    # A simple command, not the served function, so that $! is afl-fuzz itself (its wrapper execs it).
    AFL_PRELOAD="$B/libforksrv.so" AFL_DUMB_FORKSRV=1 \
      afl-fuzz -n -i "$BATS_TEST_TMPDIR/seeds" -o "$BATS_TEST_TMPDIR/out" -- "$T/afl_plain" >/dev/null 2>&1 3>&- &
    local fuzzer=$!
    sleep 2
    [ -n "$(target_processes)" ]
    kill -INT "$fuzzer"
    wait "$fuzzer" || true
    assert_no_leftovers
    [ -z "$(ps -eo stat=,args= | awk '$1 ~ /^Z/' | grep -F "$T/")" ]
  done
}

@test "afl-tmin minimises a crashing input through the preload" {
  printf '!abcdefgh' >"$BATS_TEST_TMPDIR/crash"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -f "$BATS_TEST_TMPDIR/min"
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run -0 afl-tmin -i "$BATS_TEST_TMPDIR/crash" -o "$BATS_TEST_TMPDIR/min" -- "$T/afl_plain"
    [ "$(cat "$BATS_TEST_TMPDIR/min")" = '!' ]
  done
}

@test "afl-showmap sees one outcome byte per exit code and per signal, input by input" {
  mkdir "$BATS_TEST_TMPDIR/in"
  printf 0 >"$BATS_TEST_TMPDIR/in/zero"
  printf 3 >"$BATS_TEST_TMPDIR/in/three"
  printf segv >"$BATS_TEST_TMPDIR/in/segv"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -rf "$BATS_TEST_TMPDIR/maps" "$BATS_TEST_TMPDIR/maps2"
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run -0 afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/crash"
    # exit code c is byte 1 + c; signal n is byte 257 + n.
    [ "$(cat "$BATS_TEST_TMPDIR/maps/zero")" = "000001:1" ]
    [ "$(cat "$BATS_TEST_TMPDIR/maps/segv")" = "000268:1" ]
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run -0 afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps2" -- "$T/exit_code"
    [ "$(cat "$BATS_TEST_TMPDIR/maps2/three")" = "000004:1" ]
  done
}

@test "a target with libforksrv.a linked in and libforksrv.so preloaded too runs one server at main under AFL++'s protocol: the other copy stands down in its children" {
  mkdir "$BATS_TEST_TMPDIR/in"
  printf 3 >"$BATS_TEST_TMPDIR/in/three"
  printf 0 >"$BATS_TEST_TMPDIR/in/zero"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -rf "$BATS_TEST_TMPDIR/maps"
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_START=main FORKSRV_AFL_MAP=outcome run -0 timeout 60 afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/dynamic_fsrv"
    [ "$(cat "$BATS_TEST_TMPDIR/maps/three")" = "000004:1" ]
    [ "$(cat "$BATS_TEST_TMPDIR/maps/zero")" = "000001:1" ]
  done
}

@test "under AFL++'s protocol no fd of the server's sits below 1000 in a child, persistent or not, one-shot too" {
  mkdir "$BATS_TEST_TMPDIR/in"
  printf 0 >"$BATS_TEST_TMPDIR/in/zero"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -rf "$BATS_TEST_TMPDIR/maps" "$BATS_TEST_TMPDIR/map"
    # server_fds exits with the lowest such fd, 0 when there is none: outcome byte 1 + 0.
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run -0 afl-showmap -i "$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/maps" -- "$T/server_fds"
    [ "$(cat "$BATS_TEST_TMPDIR/maps/zero")" = "000001:1" ]
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run afl-showmap -o "$BATS_TEST_TMPDIR/map" -- "$T/server_fds" <"$BATS_TEST_TMPDIR/in/zero"
    [ "$(cat "$BATS_TEST_TMPDIR/map")" = "000001:1" ]
  done
}

@test "afl-showmap on a single input (plain exec, no fork server) gets the outcome byte too" {
  printf segv >"$BATS_TEST_TMPDIR/segv"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -f "$BATS_TEST_TMPDIR/map"
    AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run afl-showmap -o "$BATS_TEST_TMPDIR/map" -- "$T/crash" <"$BATS_TEST_TMPDIR/segv"
    [ "$(cat "$BATS_TEST_TMPDIR/map")" = "000268:1" ]
  done
}

@test "without FORKSRV_AFL_MAP=outcome afl-showmap finds no coverage: the map is an opt-in stand-in" {
  printf 0 >"$BATS_TEST_TMPDIR/zero"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    AFL_PRELOAD="$B/libforksrv.so" run ! afl-showmap -o "$BATS_TEST_TMPDIR/map" -- "$T/crash" <"$BATS_TEST_TMPDIR/zero"
    [[ "$output" == *"No instrumentation detected"* ]]
  done
}

@test "afl-cmin keeps one input per outcome" {
  # afl-cmin refuses to work with anything (inputs, target, output, cwd) under /tmp or /var/tmp; and
  # under /dev/shm its afl-showmap cannot write its results.
  local base=${HOME:-/root}
  [[ "$base" =~ ^(/var)?/tmp ]] && skip "HOME is under /tmp, where afl-cmin refuses to run"
  local dir kept
  dir=$(mktemp -d "$base/forksrv-cmin.XXXXXX")
  mkdir "$dir/in"
  cp "$T/exit_code" "$dir/"
  printf 1 >"$dir/in/a"; printf 1 >"$dir/in/b"; printf 2 >"$dir/in/c"; printf 0 >"$dir/in/d"
  cd "$dir"
  for afl in "${AFLS[@]}"; do
    use_afl "$afl"
    rm -rf "$dir/out"
    AFL_SKIP_BIN_CHECK=1 AFL_PRELOAD="$B/libforksrv.so" FORKSRV_AFL_MAP=outcome run afl-cmin -i "$dir/in" -o "$dir/out" -- "$dir/exit_code"
    kept=$(ls "$dir/out" 2>/dev/null | wc -l)
    [ "$status" -eq 0 ] || break
    [ "$kept" -eq 3 ] || break
  done
  cd /
  rm -rf "$dir"
  [ "$status" -eq 0 ]
  [ "$kept" -eq 3 ]
}
