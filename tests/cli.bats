#!/usr/bin/env bats
# The forksrv command line: options, output formats, --crashes, the summary and the exit status.
load helpers

@test "no target is a usage error with exit status 2" {
  run -2 --separate-stderr "$FORKSRV"
  [ "${stderr_lines[0]}" = "forksrv: no target given: forksrv [OPTIONS] -- TARGET [ARGS...]" ]
  [ "${stderr_lines[1]}" = "Try 'forksrv --help'." ]
}

@test "an unknown option, a missing argument and a bad number are usage errors" {
  run -2 --separate-stderr "$FORKSRV" --frobnicate -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: unknown option --frobnicate" ]
  run -2 --separate-stderr "$FORKSRV" -t
  [ "${stderr_lines[0]}" = "forksrv: option -t needs an argument" ]
  run -2 --separate-stderr "$FORKSRV" -t 10x -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --timeout wants a whole number from 0 to 1073741824, not '10x'" ]
  run -2 --separate-stderr "$FORKSRV" -n 0 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --runs must be at least 1" ]
}

@test "-h prints the synopsis and the exit statuses; -V the version and protocol" {
  run -0 "$FORKSRV" -h
  [ "${lines[0]}" = "usage: forksrv [OPTIONS] -- TARGET [ARGS...]" ]
  [[ "$output" == *"exit status: 0 no crash and no timeout; 1 at least one crash"* ]]
  run -0 "$FORKSRV" -V
  [[ "$output" =~ ^forksrv\ [0-9]+\.[0-9]+\.[0-9]+\ \(protocol\ 5,\ libforksrv\.so\.[0-9]+\)$ ]]
}

@test "a missing input path is an error before anything runs" {
  run -2 --separate-stderr "$FORKSRV" -i "$BATS_TEST_TMPDIR/none" -- "$T/exit_code"
  [ "$stderr" = "forksrv: input $BATS_TEST_TMPDIR/none: No such file or directory" ]
}

@test "an empty input directory is an error, not a silent success" {
  mkdir "$BATS_TEST_TMPDIR/empty"
  run -2 --separate-stderr "$FORKSRV" -i "$BATS_TEST_TMPDIR/empty" -- "$T/exit_code"
  [ "$stderr" = "forksrv: no input files in $BATS_TEST_TMPDIR/empty" ]
}

@test "an unreadable input is reported, the others still run, and the exit status is 2" {
  input a 0 >/dev/null; input b 1 >/dev/null; input c 0 >/dev/null
  chmod 000 "$BATS_TEST_TMPDIR/in/b"
  run -2 --separate-stderr as_user "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/in/a" -i "$BATS_TEST_TMPDIR/in/b" -i "$BATS_TEST_TMPDIR/in/c" -- "$T/exit_code"
  [ "$(grep -c '"result":"exited"' <<<"$output")" -eq 2 ]
  [ "${lines[1]}" = "{\"input\":\"$BATS_TEST_TMPDIR/in/b\",\"result\":\"error\",\"error\":\"Permission denied\"}" ]
  [[ "$stderr" == *"forksrv: read $BATS_TEST_TMPDIR/in/b: Permission denied"* ]]
}

@test "an input that vanishes or turns into a FIFO after listing is reported, never waited on" {
  mkdir "$BATS_TEST_TMPDIR/corpus"
  printf 0 >"$BATS_TEST_TMPDIR/corpus/a"
  printf 0 >"$BATS_TEST_TMPDIR/corpus/b"
  # The target removes b and leaves a FIFO in its place while a runs.
  run -2 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/corpus" -- /bin/sh -c \
    "rm -f '$BATS_TEST_TMPDIR/corpus/b'; mkfifo '$BATS_TEST_TMPDIR/corpus/b'; exit 0"
  [ "${lines[1]}" = "{\"input\":\"$BATS_TEST_TMPDIR/corpus/b\",\"result\":\"error\",\"error\":\"Invalid argument\"}" ]
  [[ "$stderr" == *"forksrv: read $BATS_TEST_TMPDIR/corpus/b: Invalid argument"* ]]
}

@test "symlinked files are inputs; a symlink loop in a corpus ends nothing and repeats nothing" {
  mkdir -p "$BATS_TEST_TMPDIR/corpus/sub"
  printf 1 >"$BATS_TEST_TMPDIR/corpus/a"
  ln -s "$BATS_TEST_TMPDIR/corpus/a" "$BATS_TEST_TMPDIR/corpus/link"
  ln -s "$BATS_TEST_TMPDIR/corpus" "$BATS_TEST_TMPDIR/corpus/sub/loop"
  run -0 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/corpus" -- "$T/exit_code"
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == "{\"input\":\"$BATS_TEST_TMPDIR/corpus/link\","* ]]
}

@test "--json quotes input names with quotes, backslashes and control characters" {
  local odd="$BATS_TEST_TMPDIR/in/a\"b\\c"$'\t'
  printf 0 >"$odd"
  run -0 --separate-stderr "$FORKSRV" --json -i "$odd" -- "$T/exit_code"
  [[ "$output" == "{\"input\":\"$BATS_TEST_TMPDIR/in/a\\\"b\\\\c\\u0009\",\"run\":1,"* ]]
}

@test "the plain output names each crash and timeout, and -v every execution" {
  run -1 --separate-stderr "$FORKSRV" -i "$(input a ok)" -i "$(input b segv)" -- "$T/crash"
  [ "$output" = "crash $BATS_TEST_TMPDIR/in/b: SIGSEGV" ]
  run -1 --separate-stderr "$FORKSRV" -v -i "$(input a ok)" -i "$(input b segv)" -- "$T/crash"
  [[ "${lines[0]}" =~ ^exit\ $BATS_TEST_TMPDIR/in/a:\ 0\ \([0-9]+\ us\)$ ]]
  [ "${lines[1]}" = "crash $BATS_TEST_TMPDIR/in/b: SIGSEGV" ]
}

@test "the summary counts every outcome; -q silences it" {
  run -1 --separate-stderr "$FORKSRV" -t 100 -i "$(input a ok)" -i "$(input b segv)" -i "$(input c abort)" -- "$T/crash"
  [[ "$stderr" =~ ^forksrv:\ 3\ executions\ in\ [0-9.]+\ s\ \([0-9]+\ execs/s\):\ 1\ exited\ \(0\ non-zero\),\ 2\ crashed,\ 0\ timed\ out$ ]]
  run -1 --separate-stderr "$FORKSRV" -q -i "$(input b segv)" -- "$T/crash"
  [ -z "$output" ]
  [ -z "$stderr" ]
}

@test "a non-zero exit code is not a crash: exit status 0" {
  run -0 --separate-stderr "$FORKSRV" -i "$(input a 3)" -- "$T/exit_code"
  [[ "$stderr" == *"1 exited (1 non-zero), 0 crashed, 0 timed out" ]]
}

@test "--crashes keeps each crashing or hanging input with the target's stderr beside it" {
  run -1 --separate-stderr "$FORKSRV" -t 100 --crashes "$BATS_TEST_TMPDIR/crashes" \
    -i "$(input fine 0)" -i "$(input boom 'sleep 0')" -i "$(input slow hang)" -- /bin/sh -c \
    'read x; echo "said: $x" >&2; case $x in hang) while :; do :; done ;; sleep*) kill -SEGV $$ ;; esac'
  [ "$(ls "$BATS_TEST_TMPDIR/crashes" | tr '\n' ' ')" = "boom boom.inputs boom.repro boom.stderr slow slow.inputs slow.repro slow.stderr " ]
  [ "$(cat "$BATS_TEST_TMPDIR/crashes/boom")" = "sleep 0" ]
  [ "$(cat "$BATS_TEST_TMPDIR/crashes/boom.stderr")" = "said: sleep 0" ]
  [ "$(cat "$BATS_TEST_TMPDIR/crashes/slow.stderr")" = "said: hang" ]
}

@test "an unwritable --crashes directory is an error that does not lose the results" {
  mkdir -m 555 "$BATS_TEST_TMPDIR/ro"
  [ "$(id -u)" -ne 0 ] || chown nobody "$BATS_TEST_TMPDIR/ro"
  input b segv >/dev/null
  run -2 --separate-stderr as_user "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/ro" -i "$BATS_TEST_TMPDIR/in/b" -- "$T/crash"
  [ "$output" = "crash $BATS_TEST_TMPDIR/in/b: SIGSEGV" ]
  [[ "$stderr" == "forksrv: write $BATS_TEST_TMPDIR/ro/b: Permission denied"* ]]
}

@test "a --crashes path that is a file is refused before anything runs" {
  printf x >"$BATS_TEST_TMPDIR/file"
  run -2 --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/file" -i "$(input b segv)" -- "$T/crash"
  [ "$output" = "" ]
  [ "$stderr" = "forksrv: --crashes $BATS_TEST_TMPDIR/file: Not a directory" ]
}

@test "the target's stdout and stderr go nowhere by default" {
  run -0 "$FORKSRV" -q -i "$(input a 0)" -- "$T/exit_code"
  [ -z "$output" ]
}

@test "hidden files and directories in a corpus are left out, as AFL++ leaves them out" {
  mkdir -p "$BATS_TEST_TMPDIR/corpus/.state"
  printf 1 >"$BATS_TEST_TMPDIR/corpus/a"
  printf 2 >"$BATS_TEST_TMPDIR/corpus/.gitkeep"
  printf 3 >"$BATS_TEST_TMPDIR/corpus/.state/b"
  run -0 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/corpus" -- "$T/exit_code"
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == "{\"input\":\"$BATS_TEST_TMPDIR/corpus/a\","* ]]
}

@test "--show-output passes the target's stdout and stderr on, execution by execution" {
  run -0 --separate-stderr "$FORKSRV" -q --show-output -i "$(input a 4)" -i "$(input b 5)" -- "$T/exit_code"
  [ "$output" = "input '4'"$'\n'"input '5'" ]
  [ "$stderr" = "exit 4"$'\n'"exit 5" ]
}

@test "a full disk under --crashes is an error that does not lose the results" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
  mkdir "$BATS_TEST_TMPDIR/full"
  mount -t tmpfs -o size=64k,mode=0700 tmpfs "$BATS_TEST_TMPDIR/full" 2>/dev/null || skip "cannot mount tmpfs here"
  head -c 1M /dev/zero >"$BATS_TEST_TMPDIR/full/filler" 2>/dev/null || true
  run --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/full" -i "$(input b segv)" -- "$T/crash"
  umount "$BATS_TEST_TMPDIR/full"
  [ "$status" -eq 2 ]
  [ "$output" = "crash $BATS_TEST_TMPDIR/in/b: SIGSEGV" ]
  [[ "$stderr" == *"forksrv: write $BATS_TEST_TMPDIR/full/b: No space left on device"* ]]
}

@test "a TMPDIR the user cannot write to is reported" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to run as nobody"
  TMPDIR=/ run -2 --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups "$FORKSRV" -- "$T/exit_code"
  [ "$stderr" = "forksrv: mkdtemp //forksrv.XXXXXX: Permission denied" ]
}

@test "hostile paths already in TMPDIR named like forksrv's are neither used nor touched" {
  local i
  for i in $(seq 20); do ln -s /etc "$TMPDIR/forksrv.$(printf %06d "$i")"; done
  mkfifo "$TMPDIR/forksrv.fifo"
  run -0 --separate-stderr "$FORKSRV" -n 3 -- "$T/exit_code"
  [ "$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | wc -l)" -eq 21 ]
  [ -p "$TMPDIR/forksrv.fifo" ]
  [ -L "$TMPDIR/forksrv.000001" ]
  rm -f "$TMPDIR"/forksrv.*
}
