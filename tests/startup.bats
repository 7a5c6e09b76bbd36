#!/usr/bin/env bats
# Start-up failures end within the startup timeout, with exit status 2 and one line naming the cause.
load helpers

# fake_peer: a shell script as target, run with a do-nothing preload, so that what it writes to
# $FORKSRV_FIFO_OUT (its stdin: the script body) is all the driver hears. Path printed.
fake_peer() {
  echo 'int unused;' >"$BATS_TEST_TMPDIR/empty.c"
  cc -shared -fPIC -o "$BATS_TEST_TMPDIR/empty.so" "$BATS_TEST_TMPDIR/empty.c"
  { echo '#!/bin/bash'; cat; echo 'sleep 5'; } >"$BATS_TEST_TMPDIR/fake"
  chmod +x "$BATS_TEST_TMPDIR/fake"
  echo "$BATS_TEST_TMPDIR/fake"
}

@test "a missing target is reported with exec's reason" {
  run -2 --separate-stderr "$FORKSRV" -- "$BATS_TEST_TMPDIR/nope"
  [ "$stderr" = "forksrv: cannot execute $BATS_TEST_TMPDIR/nope: No such file or directory" ]
  assert_no_leftovers
}

@test "a target not found in PATH is reported by the name given" {
  run -2 --separate-stderr "$FORKSRV" -- no-such-command-here
  [ "$stderr" = "forksrv: cannot execute no-such-command-here: No such file or directory" ]
}

@test "a target that is not executable is reported with exec's reason" {
  printf 'x' >"$BATS_TEST_TMPDIR/plain"
  run -2 --separate-stderr "$FORKSRV" -- "$BATS_TEST_TMPDIR/plain"
  [ "$stderr" = "forksrv: cannot execute $BATS_TEST_TMPDIR/plain: Permission denied" ]
}

@test "an executable file that is not a program is reported with exec's reason" {
  printf '\x01\x02garbage' >"$BATS_TEST_TMPDIR/notelf"
  chmod +x "$BATS_TEST_TMPDIR/notelf"
  run -2 --separate-stderr "$FORKSRV" -- "$BATS_TEST_TMPDIR/notelf"
  [ "$stderr" = "forksrv: cannot execute $BATS_TEST_TMPDIR/notelf: Exec format error" ]
  assert_no_leftovers
}

@test "a directory as target is reported" {
  run -2 --separate-stderr "$FORKSRV" -- "$BATS_TEST_TMPDIR"
  [ "$stderr" = "forksrv: cannot execute $BATS_TEST_TMPDIR: Is a directory" ]
}

@test "a missing shared library is reported with the loader's own message" {
  uses_libgone 'int gone(void) { return 0; }' 'int gone(void); int main(void) { return gone(); }'
  rm libgone.so
  run -2 --separate-stderr "$FORKSRV" -- ./uses
  [ "$stderr" = "forksrv: target exited before the handshake (exit code 127): ./uses: error while loading shared libraries: libgone.so: cannot open shared object file: No such file or directory" ]
  assert_no_leftovers
}

@test "a target that dies before the server starts is reported with its exit code and last words" {
  run -2 --separate-stderr "$FORKSRV" -- "$T/dies_early"
  [ "$stderr" = "forksrv: target exited before the handshake (exit code 3): dies_early: giving up before main" ]
  assert_no_leftovers
}

@test "a target killed by a signal before the handshake is reported with the signal" {
  DIE_BY=segv run -2 --separate-stderr "$FORKSRV" -- "$T/dies_early"
  [ "$stderr" = "forksrv: target exited before the handshake (killed by SIGSEGV): dies_early: giving up before main" ]
  assert_no_leftovers
}

@test "a static target without libforksrv.a is named as such" {
  run -2 --separate-stderr "$FORKSRV" -- "$T/static_plain"
  [ "$stderr" = "forksrv: target exited before the handshake (exit code 0): no fork server in it: it is statically linked, so LD_PRELOAD cannot reach it (link it with libforksrv.a)" ]
}

@test "a target that hangs before its constructors is stopped at the startup timeout" {
  SECONDS=0
  run -2 --separate-stderr "$FORKSRV" --startup-timeout 300 -- "$T/hangs_early"
  [ "$SECONDS" -lt 5 ]
  [ "$stderr" = "forksrv: no handshake within 300 ms (--startup-timeout): the target is still starting, or hangs before its constructors run" ]
  assert_no_leftovers
}

@test "a peer that sends something other than a hello is refused" {
  local fake
  fake=$(fake_peer <<'SH'
printf 'HELLO, WORLD!!!!' >"$FORKSRV_FIFO_OUT"
SH
)
  run -2 --separate-stderr "$FORKSRV" --preload "$BATS_TEST_TMPDIR/empty.so" -- "$fake"
  [ "$stderr" = "forksrv: handshake: the target sent something that is not a forksrv hello (16 bytes)" ]
}

@test "a server speaking another protocol version is refused, naming both versions" {
  local fake
  fake=$(fake_peer <<'SH'
# magic "FSRV", version 9 in the high half of the second word, this pid, start point 1
pid=$(printf '%08x' $$)
printf "FSRV\x00\x00\x09\x00\x${pid:6:2}\x${pid:4:2}\x${pid:2:2}\x${pid:0:2}\x01\x00\x00\x00" >"$FORKSRV_FIFO_OUT"
SH
)
  run -2 --separate-stderr "$FORKSRV" --preload "$BATS_TEST_TMPDIR/empty.so" -- "$fake"
  [ "$stderr" = "forksrv: protocol version mismatch: the server speaks 9, this driver 5" ]
  assert_no_leftovers
}

@test "a server that cannot start says why in a notice, and the driver ends the target at once" {
  local fake
  fake=$(fake_peer <<'SH'
# FIFO_NOTICE_NOT_STARTED from this pid at the entry, cause FIFO_CAUSE_SETUP with -ENOSYS, no call
pid=$(printf '%08x' $$)
z='\x00\x00\x00\x00'
printf "FSRN\x04\x00\x00\x00\x${pid:6:2}\x${pid:4:2}\x${pid:2:2}\x${pid:0:2}\x06\x00\x00\x00\x07\x00\x00\x00\xda\xff\xff\xff$z$z$z$z$z$z$z$z" >"$FORKSRV_FIFO_OUT"
SH
)
  SECONDS=0
  run -2 --separate-stderr "$FORKSRV" --preload "$BATS_TEST_TMPDIR/empty.so" -- "$fake"
  [ "$stderr" = "forksrv: the server did not start: its set-up failed (it needs glibc and Linux 5.3 or later): Function not implemented" ]
  [ "$SECONDS" -lt 4 ]
  assert_no_leftovers
}

@test "a TMPDIR that does not exist is reported" {
  TMPDIR="$BATS_TEST_TMPDIR/none" run -2 --separate-stderr "$FORKSRV" -- "$T/exit_code"
  [ "$stderr" = "forksrv: mkdtemp $BATS_TEST_TMPDIR/none/forksrv.XXXXXX: No such file or directory" ]
}

@test "a missing preload library is reported" {
  run -2 --separate-stderr "$FORKSRV" --preload "$BATS_TEST_TMPDIR/no.so" -- "$T/exit_code"
  [ "$stderr" = "forksrv: preload $BATS_TEST_TMPDIR/no.so: No such file or directory" ]
}

@test "a server that would start in a descendant of the target (a constructor forks, the child goes on to main) is named as such" {
  run -2 --separate-stderr "$FORKSRV" --start main -n 1 -- "$T/ctor_fork"
  [[ "$stderr" =~ ^"forksrv: handshake came from pid "([0-9]+)", not from the target (pid "([0-9]+)"): a descendant started the server"$ ]]
  [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ]
  assert_no_leftovers
}
