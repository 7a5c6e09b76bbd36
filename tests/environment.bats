#!/usr/bin/env bats
# The server's environment: with none of its variables it does nothing; it finds them in an
# environment of any size; it checks what they name; it hides them from the target's descendants;
# under AT_SECURE it ignores them.
load helpers

LIB() { echo "$B/libforksrv.so"; }

@test "preloaded with none of its variables set, the library changes nothing" {
  printf 42 >"$BATS_TEST_TMPDIR/in42"
  run --separate-stderr "$T/exit_code" <"$BATS_TEST_TMPDIR/in42"
  local plain_status=$status plain_out=$output plain_err=$stderr
  LD_PRELOAD="$(LIB)" run --separate-stderr "$T/exit_code" <"$BATS_TEST_TMPDIR/in42"
  [ "$status" -eq "$plain_status" ]
  [ "$output" = "$plain_out" ]
  [ "$stderr" = "$plain_err" ]
  [ "$status" -eq 42 ]
}

@test "a shell the target runs is a plain shell that cannot see forksrv's variables" {
  # shell exits with its input's code, plus 100 if FORKSRV_FIFO_* or FORKSRV_DEBUG is visible to it.
  same_as_plain -i "$(input a 7)" -- "$T/shell"
  [[ "$output" == *'"exit_code":7'* ]]
  assert_no_leftovers
}

@test "a 1 MiB environment does not keep the server from finding its variables" {
  local i chunk
  chunk=$(head -c 100000 /dev/zero | tr '\0' 'e')
  for i in 0 1 2 3 4 5 6 7 8 9 10; do export "BIG$i=$chunk"; done
  run -0 --separate-stderr "$FORKSRV" -v -i "$(input a 0)" -- "$T/exit_code"
  [[ "$stderr" == *"forksrv: fork server pid "*" started at entry"* ]]
}

@test "FIFO variables naming a regular file: no server, the target runs normally, the reason on request" {
  printf 5 >"$BATS_TEST_TMPDIR/in5"
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN=/etc/passwd FORKSRV_FIFO_OUT=/etc/passwd
  run -5 --separate-stderr "$T/exit_code" <"$BATS_TEST_TMPDIR/in5"
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: /etc/passwd: not a FIFO")" ]
  [ "${stderr_lines[1]}" = "exit 5" ]
}

@test "without FORKSRV_DEBUG the refusal is silent" {
  export LD_PRELOAD="$(LIB)" FORKSRV_FIFO_IN=/etc/passwd FORKSRV_FIFO_OUT=/etc/passwd
  run -0 --separate-stderr "$T/exit_code" </dev/null
  [ "$stderr" = "exit 0" ]
}

@test "FIFO variables naming a directory or a missing path are refused with the reason" {
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1
  FORKSRV_FIFO_IN=/ FORKSRV_FIFO_OUT=/ run -0 --separate-stderr "$T/exit_code" </dev/null
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: /: not a FIFO")" ]
  FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/none" FORKSRV_FIFO_OUT=/ run -0 --separate-stderr "$T/exit_code" </dev/null
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: open $BATS_TEST_TMPDIR/none: No such file or directory")" ]
}

@test "a FIFO owned by another user is refused" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to make a FIFO owned by someone else"
  mkfifo "$BATS_TEST_TMPDIR/theirs"
  chown nobody "$BATS_TEST_TMPDIR/theirs"
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/theirs" FORKSRV_FIFO_OUT="$BATS_TEST_TMPDIR/theirs"
  run -0 --separate-stderr "$T/exit_code" </dev/null
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: $BATS_TEST_TMPDIR/theirs: not owned by our effective uid")" ]
}

@test "a FIFO its group or others may write is refused, and the target runs as without forksrv" {
  mkfifo -m 600 "$BATS_TEST_TMPDIR/out"
  mkfifo "$BATS_TEST_TMPDIR/open"
  chmod 666 "$BATS_TEST_TMPDIR/open"
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/open" FORKSRV_FIFO_OUT="$BATS_TEST_TMPDIR/out"
  run -7 --separate-stderr "$T/exit_code" < <(printf 7)
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: $BATS_TEST_TMPDIR/open: writable by its group or others")" ]
  [ "$output" = "input '7'" ]
  chmod 620 "$BATS_TEST_TMPDIR/open"
  run -7 --separate-stderr "$T/exit_code" < <(printf 7)
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: $BATS_TEST_TMPDIR/open: writable by its group or others")" ]
}

@test "both variables naming one FIFO leave the target to run main, with its own exit status" {
  mkfifo -m 600 "$BATS_TEST_TMPDIR/one"
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/one" FORKSRV_FIFO_OUT="$BATS_TEST_TMPDIR/one"
  run -7 --separate-stderr timeout 10 "$T/exit_code" < <(printf 7)
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: $BATS_TEST_TMPDIR/one: the request and the reply FIFO are one FIFO")" ]
  [ "$output" = "input '7'" ]
}

@test "a request FIFO that no process writes leaves the target to run main, with its own exit status" {
  mkfifo -m 600 "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/rep"
  # A reader of the reply FIFO, so that the server's open of it succeeds.
  sleep 30 <>"$BATS_TEST_TMPDIR/rep" 3>&- &
  local reader=$!
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/req" FORKSRV_FIFO_OUT="$BATS_TEST_TMPDIR/rep"
  run -7 --separate-stderr timeout 10 "$T/exit_code" < <(printf 7)
  kill "$reader"
  wait "$reader" || true
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: $BATS_TEST_TMPDIR/req: no process has it open for writing")" ]
  [ "$output" = "input '7'" ]
}

@test "a request FIFO that no process writes is told to the driver in a notice on the reply FIFO" {
  mkfifo -m 600 "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/rep"
  exec 4<>"$BATS_TEST_TMPDIR/rep"
  export LD_PRELOAD="$(LIB)" FORKSRV_FIFO_IN="$BATS_TEST_TMPDIR/req" FORKSRV_FIFO_OUT="$BATS_TEST_TMPDIR/rep"
  run -7 --separate-stderr timeout 10 "$T/exit_code" < <(printf 7)
  [ "$output" = "input '7'" ]
  local notice
  notice=$(timeout 5 head -c 56 <&4 | od -An -v -tx1 | tr -d ' \n')
  exec 4<&-
  # fifo/protocol.h: "FSRN", FIFO_NOTICE_NOT_STARTED; then (after pid and start) FIFO_CAUSE_NO_WRITER, no errno.
  [ "${#notice}" -eq 112 ]
  [ "${notice:0:16}" = "4653524e04000000" ]
  [ "${notice:32:16}" = "0500000000000000" ]
}

@test "a FIFO path longer than PATH_MAX is refused" {
  local long
  long=$(printf '/x%.0s' $(seq 1 2100))
  export LD_PRELOAD="$(LIB)" FORKSRV_DEBUG=1 FORKSRV_FIFO_IN="$long" FORKSRV_FIFO_OUT=/tmp
  run -0 --separate-stderr "$T/exit_code" </dev/null
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: FORKSRV_FIFO_IN: path longer than PATH_MAX")" ]
}

@test "under AT_SECURE (a setuid target) the server ignores its variables" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to make a target setuid to another user"
  findmnt -no OPTIONS -T "$BATS_TEST_TMPDIR" | grep -q nosuid && skip "$BATS_TEST_TMPDIR is mounted nosuid"
  cp "$T/static_fsrv" "$BATS_TEST_TMPDIR/suid"
  chown nobody "$BATS_TEST_TMPDIR/suid"
  chmod 4755 "$BATS_TEST_TMPDIR/suid"
  chmod 755 "$BATS_TEST_TMPDIR"
  export FORKSRV_DEBUG=1 FORKSRV_FIFO_IN=/etc/passwd FORKSRV_FIFO_OUT=/etc/passwd
  # The same binary without the setuid bit reads the variables (and refuses them)...
  run -0 --separate-stderr "$T/static_fsrv" </dev/null
  [ "${stderr_lines[0]}" = "$(said "forksrv: server not started: /etc/passwd: not a FIFO")" ]
  # ...with it, it does not even look.
  run -0 --separate-stderr "$BATS_TEST_TMPDIR/suid" </dev/null
  [ "$stderr" = "exit 0" ]
}

@test "a user's own LD_PRELOAD is kept, with libforksrv.so appended" {
  echo 'int mine;' >"$BATS_TEST_TMPDIR/mine.c"
  cc -shared -fPIC -o "$BATS_TEST_TMPDIR/mine.so" "$BATS_TEST_TMPDIR/mine.c"
  export LD_PRELOAD="$BATS_TEST_TMPDIR/mine.so"
  # (The driver itself may be an ASan build, under make check, and ASan wants to be first.)
  export ASAN_OPTIONS=verify_asan_link_order=0
  run -0 --separate-stderr "$FORKSRV" -q --show-output -i "$(input a 0)" -- /bin/sh -c 'echo "$LD_PRELOAD"'
  [ "$output" = "$BATS_TEST_TMPDIR/mine.so:$(realpath "$B/libforksrv.so")" ]
}
