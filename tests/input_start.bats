#!/usr/bin/env bats
# --start input: the server starts inside the target's first call that touches its input (the '@@'
# path or stdin), so each child skips everything a program does before it looks at its input; where a
# fork there is not safe it falls back to --start main with one line; outcomes stay plain fork+exec's.
load helpers

mixed() {
  mkdir -p "$BATS_TEST_TMPDIR/corpus"
  printf 3 >"$BATS_TEST_TMPDIR/corpus/a"
  printf segv >"$BATS_TEST_TMPDIR/corpus/b"
  printf 0 >"$BATS_TEST_TMPDIR/corpus/c"
  : >"$BATS_TEST_TMPDIR/corpus/d"
  printf 17 >"$BATS_TEST_TMPDIR/corpus/e"
  echo "$BATS_TEST_TMPDIR/corpus"
}

@test "by path: a target that stats its input before opening it, and one that opens it twice" {
  local c
  c=$(mixed)
  same_as_plain --start input -i "$c" -- "$T/touch" stat @@
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 5 ]
  same_as_plain --start input -i "$c" -- "$T/touch" twice @@
  run -0 "$FORKSRV" check --start input -- "$T/touch" stat @@
  [ "${lines[2]##* }" = input ]
  [ "${lines[4]}" = "fork point    the first stat() of the input, 1 thread" ]
}

@test "on stdin: read(2), fgets, scanf and getchar each start the server, and outcomes stay plain's" {
  local c mode
  c=$(mixed)
  for mode in read stdio scanf getchar; do
    same_as_plain --start input -i "$c" -- "$T/touch" "$mode"
    run --separate-stderr "$FORKSRV" -v --start input -i "$c" -- "$T/touch" "$mode"
    [[ "$stderr" == *"started at input"* ]]
  done
  run -0 "$FORKSRV" check --start input -- "$T/touch" scanf
  [ "${lines[4]}" = "fork point    the first vfscanf() of the input, 1 thread" ]
}

@test "a thread running at the first touch makes it fall back to --start main, saying so in one line" {
  local c
  c=$(mixed)
  same_as_plain --start input -i "$c" -- "$T/touch" thread
  run -1 --separate-stderr "$FORKSRV" -v --start input -i "$c" -- "$T/touch" thread
  [ "$(grep -c 'refused' <<<"$stderr")" -eq 1 ]
  [[ "$stderr" == *"forksrv: warning: --start input refused at the first read() of the input: threads are running, and a child would keep only this one; falling back to --start main"* ]]
  [[ "$stderr" == *"started at main"* ]]
}

@test "data already in stdin's stdio buffer at the first touch makes it fall back to --start main" {
  same_as_plain --start input -i "$(mixed)" -- "$T/touch" ungetc
  [[ "$output" == *'"exit_code":73'* ]]
  run -0 --separate-stderr "$FORKSRV" -v --start input -i "$(mixed)" -- "$T/touch" ungetc
  [[ "$stderr" == *"forksrv: warning: --start input refused at the first fgets() of the input: stdin's stdio buffer already holds data read before it; falling back to --start main"* ]]
  [[ "$stderr" == *"started at main"* ]]
}

@test "a regular file open at the fork point is a warning, not a refusal" {
  run -0 --separate-stderr "$FORKSRV" -q --start input -i "$(input a 0)" -- "$T/touch" regfile
  [ -z "$stderr" ]
  run -0 --separate-stderr "$FORKSRV" -v --start input -i "$(input a 0)" -- "$T/touch" regfile
  [[ "$stderr" =~ "forksrv: warning: --start input: fd "[0-9]+" is a regular file open at the fork point: every child shares its offset, and fcntl locks are not inherited" ]]
  [[ "$stderr" == *"started at input"* ]]
}

@test "the input is known by its inode, however the path is spelt: a directory fd, .., links, fopen, open64, openat2" {
  local c mode
  c=$(mixed)
  export LINKDIR="$BATS_TEST_TMPDIR"
  for mode in dirfd dotdot symlink hardlink fopen open64 openat2; do
    same_as_plain --start input -i "$c" -- "$T/touch" "$mode" @@
    run -0 --separate-stderr "$FORKSRV" -v --start input -i "$c/a" -- "$T/touch" "$mode" @@
    [[ "$stderr" == *"started at input"* ]]
  done
}

@test "on stdin, a dup() of fd 0 and /proc/self/fd/0 are the input too" {
  local c mode
  c=$(mixed)
  for mode in dup procfd; do
    same_as_plain --start input -i "$c" -- "$T/touch" "$mode"
    run -0 --separate-stderr "$FORKSRV" -v --start input -i "$c/a" -- "$T/touch" "$mode"
    [[ "$stderr" == *"started at input"* ]]
  done
  run -0 "$FORKSRV" check --start input -- "$T/touch" procfd
  [ "${lines[4]}" = "fork point    the first open() of the input, 1 thread" ]
}

@test "a child that signals a pid its target saved before the fork point (a shell's \$\$) does not end the run" {
  local c="$BATS_TEST_TMPDIR/scripts"
  mkdir "$c"
  printf 'exit 1\n' >"$c/1.sh"
  printf 'kill -TERM $$; kill -SEGV $$; exit 2\n' >"$c/2.sh"
  printf 'exit 3\n' >"$c/3.sh"
  run -0 --separate-stderr "$FORKSRV" --json --start input -i "$c" -- sh @@
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" == *'"exit_code":1,'* ]]
  [[ "${lines[2]}" == *'"exit_code":3,'* ]]
  # The server never got the signals: the shell's own pid is its child's, not $$ (a known limit).
  [[ "${lines[1]}" == *'"exit_code":2,'* ]]
}

@test "a target that read its input before a late start point starts at its entry instead, saying so" {
  local c
  c=$(mixed)
  BEFORE=read same_as_plain --start main -i "$c" -- "$T/before_fork"
  [[ "$output" == *'"exit_code":17'* ]]
  BEFORE=read run -0 --separate-stderr "$FORKSRV" -v --start main -i "$c/e" -- "$T/before_fork"
  [[ "$stderr" == *"forksrv: warning: the target read its input before main, where the server would fork; starting it at its entry instead"* ]]
  [[ "$stderr" == *"started at entry"* ]]
  BEFORE=read same_as_plain --start input -i "$c" -- "$T/before_fork"
}

@test "a target that ends before it touches its input starts at its entry instead, with one note, and gives each input the direct run's outcome" {
  run -0 --separate-stderr "$FORKSRV" -v --start input -i "$(input a 0)" -- /bin/true @@
  [ "$(grep -c '^forksrv: note: ' <<<"$stderr")" -eq 1 ]
  [[ "$stderr" == *"forksrv: note: --start input: the target ended (exit code 0) before it touched its input; it starts at its entry instead"* ]]
  [[ "$stderr" == *"started at entry"* ]]
  same_as_plain --start input -i "$(input b 0)" -i "$(input c 1)" -- /bin/sh -c 'exit 4' sh @@
  [ "$(grep -c '"exit_code":4' <<<"$output")" -eq 2 ]
  same_as_plain --start input -i "$(input d 0)" -- /bin/sh -c 'kill -SEGV $$' sh @@
  [[ "$output" == *'"signal":"SIGSEGV"'* ]]
}

@test "--verify 1 finds no mismatch on honest targets, and catches one whose constructor the children skip" {
  run -1 --separate-stderr "$FORKSRV" --start input --verify 1 -i "$(mixed)" -- "$T/touch" stdio
  [[ "${stderr_lines[-1]}" == *", 5 verified, 0 mismatches" ]]
  export RIGGED="$BATS_TEST_TMPDIR/pid"
  run -3 --separate-stderr "$FORKSRV" --start input --verify 1 -i "$(input a x)" -- "$T/rigged"
  [[ "${stderr_lines[-1]}" == *", 1 verified, 1 mismatches" ]]
}

# Debian's programs, in both input modes, over a corpus of valid, malformed, empty and large inputs:
# every outcome equal to plain fork+exec's, and --verify 1 agreeing.
programs_corpus() {
  local c="$BATS_TEST_TMPDIR/programs"
  mkdir -p "$c"
  printf '{"a": [1, 2, {"b": null}]}' >"$c/valid.json"
  printf '[1, 2' >"$c/broken.json"
  : >"$c/empty"
  printf 'print(1)\nimport sys\nsys.exit(3)\n' >"$c/exit3.py"
  printf 'raise ValueError("x")\n' >"$c/raises.py"
  printf 'use strict; my $x = ; \n' >"$c/bad.pl"
  printf '<a><b c="d"/></a>' >"$c/good.xml"
  printf '<a><b></a>' >"$c/bad.xml"
  printf 'create table t(x); insert into t values (1); select * from t;\n' >"$c/ok.sql"
  printf 'select * from nope;\n' >"$c/bad.sql"
  head -c 300000 /dev/urandom >"$c/large.bin"
  echo "$c"
}

program_same() {
  same_as_plain -t 10000 --start input -i "$(programs_corpus)" -- "$@"
  run --separate-stderr "$FORKSRV" -t 10000 --start input --verify 1 -i "$(programs_corpus)" -- "$@"
  [[ "${stderr_lines[-1]}" == *", 11 verified, 0 mismatches" ]]
}

@test "jq: outcomes equal plain fork+exec's, by path and on stdin" {
  program_same jq . @@
  program_same jq .
}

@test "python3: outcomes equal plain fork+exec's, by path and on stdin" {
  program_same /usr/bin/python3 @@
  program_same /usr/bin/python3 -
}

@test "perl, file, xmllint and sqlite3: outcomes equal plain fork+exec's, by path and on stdin" {
  program_same perl @@
  program_same perl
  program_same file @@
  program_same file -
  program_same xmllint --noout @@
  program_same xmllint --noout -
  program_same sqlite3 :memory:
  program_same sqlite3 :memory: '.read @@'
}
