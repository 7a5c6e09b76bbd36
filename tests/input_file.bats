#!/usr/bin/env bats
# The input each execution sees is what the user's own file would be: '@@' is a regular file with
# the input's extension, mode and mtime, alone in a private directory; stdin is that file opened
# read-only at offset 0, as '< file' gives it. Whatever an execution does to it, the next one finds
# it pristine, and nothing of it outlives the run.
load helpers

@test "@@ is a regular file named with the input's extension, with its mode, alone in its directory" {
  local a
  a=$(input a.tar.gz 1)
  chmod 640 "$a"
  run -0 --separate-stderr "$FORKSRV" --show-output -i "$a" -i "$(input b.c 2)" -i "$(input .hidden-name 3)" -i "$(input d 4)" \
    -- "$T/tamper" none @@
  [ "${lines[0]}" = "1 regular 640 1 input.tar.gz" ]
  [ "${lines[1]}" = "2 regular 644 1 input.c" ]
  [ "${lines[2]}" = "3 regular 644 1 input" ]
  [ "${lines[3]}" = "4 regular 644 1 input" ]
  run -0 --separate-stderr "$FORKSRV" --show-output --input-name Makefile -i "$a" -- "$T/tamper" none @@
  [ "$output" = "1 regular 640 1 Makefile" ]
}

@test "@@ has the input's mtime, as ls and tar would show it" {
  local a
  a=$(input a.c 1)
  touch -d '2001-02-03 04:05:06' "$a"
  run -0 --separate-stderr "$FORKSRV" --show-output -n 2 -i "$a" -- /bin/sh -c 'stat -c %y "$1"; cat "$1" >/dev/null' sh @@
  [ "${lines[0]}" = "$(stat -c %y "$a")" ]
  [ "${lines[1]}" = "${lines[0]}" ]
}

@test "whatever an execution does to its input or beside it, the next execution finds it pristine" {
  local action
  for action in delete rename truncate append chmod beside symlink subdir; do
    run -0 --separate-stderr "$FORKSRV" --show-output -n 3 -i "$(input "x.$action" "content")" -- "$T/tamper" "$action" @@
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "content regular 644 1 input.$action" ]
    [ "${lines[1]}" = "${lines[0]}" ]
    [ "${lines[2]}" = "${lines[0]}" ]
  done
  assert_no_leftovers
}

@test "gzip @@, which replaces its input with input.gz, runs again and again as on a fresh file" {
  local a mode
  a=$(input notes.txt "some text")
  # Run directly, on a fresh copy each time, it succeeds; on the same file a second time it fails.
  cp "$a" "$BATS_TEST_TMPDIR/copy.txt"
  run -0 gzip "$BATS_TEST_TMPDIR/copy.txt"
  run -1 --separate-stderr gzip "$BATS_TEST_TMPDIR/copy.txt"
  for mode in --json --no-server; do
    run -0 --separate-stderr "$FORKSRV" --json $mode -n 3 -i "$a" -- gzip @@
    [ "$(grep -c '"exit_code":0' <<<"$output")" -eq 3 ]
  done
  [ "$(cat "$a")" = "some text" ]
}

@test "inputs of different mtimes, each rewritten or removed by its execution, each reach the next one whole" {
  local c="$BATS_TEST_TMPDIR/corpus" mode
  mkdir "$c"
  printf 'content 1' >"$c/f1.txt"
  printf 'content 2' >"$c/f2.txt"
  printf 'content 3' >"$c/f3.txt"
  touch -d 2020-01-01 "$c/f1.txt"
  touch -d 2021-01-01 "$c/f3.txt"
  # (Not --start input: the shell never touches its input itself, and the start-up run's line would
  # show once; the next test is that case.)
  for mode in --start=early --start=main --no-server; do
    run -0 --separate-stderr "$FORKSRV" "$mode" --show-output -q -i "$c" -- /bin/sh -c 'sed -i s/content/XX/ "$1"; cat "$1"; echo; rm "$1"; touch "$1.gz"' sh @@
    [ "$output" = "$(printf 'XX 1\nXX 2\nXX 3')" ]
    [ -z "$stderr" ]
  done
  run -0 --separate-stderr "$FORKSRV" --json -i "$c" -- gzip @@
  [ "$(grep -c '"exit_code":0' <<<"$output")" -eq 3 ]
}

@test "what a target's start-up run did to its input is undone when --start input falls back to the entry" {
  # The shell never touches its input itself (cat does, in a child): the run on the start-up file,
  # before the fallback, removed it.
  run -0 --separate-stderr "$FORKSRV" --start input --show-output -q -i "$(input a 'one')" -i "$(input b 'two')" \
    -- /bin/sh -c 'cat "$1"; echo; rm "$1"' sh @@
  [ "$output" = "$(printf '\none\ntwo')" ]
}

@test "stdin is a regular read-only file at offset 0 holding the input, as '< file' gives it" {
  local a direct
  a=$(input a 'hello')
  direct=$("$T/tamper" none <"$a")
  [ "$direct" = "hello regular 644 size=5 offset=0 read-only" ]
  run -0 --separate-stderr "$FORKSRV" --show-output -n 2 -i "$a" -- "$T/tamper" none
  [ "${lines[0]}" = "$direct" ]
  [ "${lines[1]}" = "$direct" ]
  run -0 --separate-stderr "$FORKSRV" --no-server --show-output -i "$a" -- "$T/tamper" none
  [ "$output" = "$direct" ]
}

@test "an execution that rewrites or chmods its stdin through /proc/self/fd/0 leaves the next one the input" {
  local action
  for action in write chmod; do
    run -0 --separate-stderr "$FORKSRV" --show-output -n 3 -i "$(input a 'hello')" -- "$T/tamper" "$action"
    [ "${lines[0]}" = "hello regular 644 size=5 offset=0 read-only" ]
    [ "${lines[1]}" = "${lines[0]}" ]
    [ "${lines[2]}" = "${lines[0]}" ]
  done
}

@test "file - on an ELF header says what it says with '< input' (the file is not executable)" {
  local a
  head -c 300 /bin/true >"$BATS_TEST_TMPDIR/in/elf"
  a="$BATS_TEST_TMPDIR/in/elf"
  run -0 --separate-stderr "$FORKSRV" --show-output -i "$a" -- file -b -
  [ "$output" = "$(file -b - <"$a")" ]
  [[ "$output" == *"shared object"* ]]
}

@test "with --show-output the target's stdout and stderr are the driver's own: a terminal stays one" {
  command -v script >/dev/null || skip "script (util-linux) is not installed"
  run -0 script -qec "$FORKSRV --show-output -n 1 -- $T/tamper isatty" /dev/null
  [[ "$output" == *"stdout 1 stderr 1"* ]]
  run -0 script -qec "$FORKSRV --no-server --show-output -n 1 -- $T/tamper isatty" /dev/null
  [[ "$output" == *"stdout 1 stderr 1"* ]]
  # without it, neither is
  run -0 --separate-stderr "$FORKSRV" --verify 1 --show-output -n 1 -- "$T/tamper" isatty
  [ "$output" = "stdout 0 stderr 0" ]
}

@test "a SIGKILL of the driver leaves no run directory behind: its janitor removes it" {
  "$FORKSRV" -t 0 -i "$(input a.c hang)" -- "$T/hang" @@ 3>&- 2>/dev/null &
  local driver=$!
  sleep 0.5
  [ -n "$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'forksrv.*')" ]
  kill -KILL "$driver"
  wait "$driver" || true
  assert_no_leftovers
}

@test "--input-name takes a file name, nothing with a slash" {
  run -2 --separate-stderr "$FORKSRV" --input-name a/b -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --input-name wants a file name (no '/', at most 255 bytes), not 'a/b'" ]
}
