#!/usr/bin/env bats
# Centipede users can preload libforksrv.so in place of Centipede's runner fork server: the same
# FIFO variables, the same framing (trigger byte in, 4-byte wait status out), in both of the framings
# Centipede has shipped.
load helpers

# expected [TARGET]: each line of stdin as TARGET's input file, run directly (default: the crash target).
expected() {
  local line target=${1:-$T/crash}
  while read -r line; do
    printf '%s' "$line" >"$BATS_TEST_TMPDIR/plain-input"
    "$target" "$BATS_TEST_TMPDIR/plain-input" >/dev/null 2>&1
    local code=$?
    if [ "$code" -gt 128 ]; then echo "$line: signal $((code - 128))"; else echo "$line: exit $code"; fi
  done
}

@test "Centipede's original framing gets one wait status per trigger, equal to plain execution" {
  printf 'ok\nsegv\nabort\nok\n' >"$BATS_TEST_TMPDIR/lines"
  run -0 "$T/centipede_client" 0 "$B/libforksrv.so" "$BATS_TEST_TMPDIR/input" "$T/crash" "$BATS_TEST_TMPDIR/input" \
    <"$BATS_TEST_TMPDIR/lines"
  [ "$(head -n 4 <<<"$output")" = "$(expected <"$BATS_TEST_TMPDIR/lines")" ]
  # The server exits when Centipede closes its FIFOs.
  [ "${lines[4]}" = "server: exit 0" ]
  assert_no_leftovers
}

@test "Centipede's current framing (the trigger echoed after the fork) with FORKSRV_CENTIPEDE_ACK=1" {
  printf 'segv\nok\n' >"$BATS_TEST_TMPDIR/lines"
  run -0 "$T/centipede_client" 1 "$B/libforksrv.so" "$BATS_TEST_TMPDIR/input" "$T/crash" "$BATS_TEST_TMPDIR/input" \
    <"$BATS_TEST_TMPDIR/lines"
  [ "$(head -n 2 <<<"$output")" = "$(expected <"$BATS_TEST_TMPDIR/lines")" ]
  [ "${lines[2]}" = "server: exit 0" ]
}

@test "snapshot reset asked for under Centipede's protocol is declined in one line, and every outcome is a fresh fork's" {
  printf 'segv\nok\nabort\n' >"$BATS_TEST_TMPDIR/lines"
  FORKSRV_RESET=snapshot run -0 "$T/centipede_client" 0 "$B/libforksrv.so" "$BATS_TEST_TMPDIR/input" "$T/crash" "$BATS_TEST_TMPDIR/input" \
    <"$BATS_TEST_TMPDIR/lines"
  [ "${lines[0]}" = "$(said "forksrv: warning: snapshot reset is not offered under Centipede's protocol (its runner maps the engine's shared memory in each child): each batch gets a fresh fork")" ]
  [ "$(sed -n 2,4p <<<"$output")" = "$(expected <"$BATS_TEST_TMPDIR/lines")" ]
  [ "${lines[4]}" = "server: exit 0" ]
  assert_no_leftovers
}

# served_once TARGET LINE...: TARGET, with libforksrv.a linked in and libforksrv.so preloaded too, at
# main under Centipede's protocol, one LINE per input: each outcome is the direct run's, and the
# server exits when the client is done. Two servers would read the same triggers, and the client
# wait for a status that never comes.
served_once() {
  local target=$1
  shift
  printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/lines"
  FORKSRV_START=main run -0 timeout 20 "$T/centipede_client" 0 "$B/libforksrv.so" "$BATS_TEST_TMPDIR/input" "$target" "$BATS_TEST_TMPDIR/input" \
    <"$BATS_TEST_TMPDIR/lines"
  # The target's own output ("input '3'") comes through beside the client's lines.
  [ "$(grep -E '^[0-9]+: (exit|signal) ' <<<"$output")" = "$(expected "$target" <"$BATS_TEST_TMPDIR/lines")" ]
  [ "${lines[-1]}" = "server: exit 0" ]
}

@test "a target with libforksrv.a linked in and libforksrv.so preloaded too runs one server at main under Centipede's protocol: the copy that starts second finds the variables spoiled" {
  served_once "$T/dynamic_fsrv" 3 0 7
  assert_no_leftovers
}

@test "the same under Centipede's protocol for a program that retitles itself, writing over the variables the other copy read: it stands down in the server's children" {
  served_once "$T/retitle_fsrv" 3 0
  assert_no_leftovers
}
