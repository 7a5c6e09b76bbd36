#!/usr/bin/env bats
# An output forksrv cannot write ends the run with exit 2 and one line naming it: a CI job must not
# pass on a report that lost lines (stdout, --junit FILE, --crashes DIR).
load helpers

@test "--json lines on a full stdout end the run with exit 2, naming standard output" {
  run -2 --separate-stderr sh -c '"$0" --json -n 3 -i "$1" -- "$2" >/dev/full' "$FORKSRV" "$(input a 0)" "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: write standard output: No space left on device" ]
  [ "${#stderr_lines[@]}" -eq 2 ]
}

@test "crash lines on a full stdout end the run with exit 2" {
  run -2 --separate-stderr sh -c '"$0" -i "$1" -- "$2" >/dev/full' "$FORKSRV" "$(input b segv)" "$T/crash"
  [ "${stderr_lines[0]}" = "forksrv: write standard output: No space left on device" ]
}

@test "a --junit file that cannot be written is exit 2, naming the file" {
  run -2 --separate-stderr "$FORKSRV" --junit /dev/full -i "$(input a 0)" -- "$T/exit_code"
  [ "${stderr_lines[1]}" = "forksrv: write /dev/full: No space left on device" ]
}

@test "a full --crashes directory stops the run at the first crash it cannot save" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
  mkdir "$BATS_TEST_TMPDIR/full"
  mount -t tmpfs -o size=16k,mode=0700 tmpfs "$BATS_TEST_TMPDIR/full" 2>/dev/null || skip "cannot mount tmpfs here"
  head -c 1M /dev/zero >"$BATS_TEST_TMPDIR/full/filler" 2>/dev/null || true
  local c
  c=$(corpus segv abort segv)
  run --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/full" -i "$c" -- "$T/crash"
  ls "$BATS_TEST_TMPDIR/full" >"$BATS_TEST_TMPDIR/left"
  umount "$BATS_TEST_TMPDIR/full"
  [ "$status" -eq 2 ]
  [ "$output" = "crash $c/10: SIGSEGV" ]
  [ "${stderr_lines[0]}" = "forksrv: write $BATS_TEST_TMPDIR/full/10: No space left on device" ]
  # What could not be saved whole is not left half-saved.
  [ "$(cat "$BATS_TEST_TMPDIR/left")" = filler ]
}

@test "a reader of stdout that goes away is a write error (exit 2, the JUnit file still written), not SIGPIPE" {
  local c="$BATS_TEST_TMPDIR/many" i
  mkdir "$c"
  for i in $(seq 300); do printf 0 >"$c/$i"; done
  run --separate-stderr bash -c '"$0" --json --junit "$1" -i "$2" -- "$3" | head -c 100 >/dev/null; exit "${PIPESTATUS[0]}"' \
    "$FORKSRV" "$BATS_TEST_TMPDIR/r.xml" "$c" "$T/exit_code"
  [ "$status" -eq 2 ]
  [ "${stderr_lines[0]}" = "forksrv: write standard output: Broken pipe" ]
  xmllint --noout "$BATS_TEST_TMPDIR/r.xml"
}

@test "targets still get the default SIGPIPE: a writer to a pipe whose reader went dies of it, as run directly" {
  cat >"$BATS_TEST_TMPDIR/pipe.c" <<'C'
#include <unistd.h>
int main(void) {
  int p[2];
  if (pipe(p)) return 3;
  close(p[0]);
  write(p[1], "x", 1);
  return 0;
}
C
  cc -o "$BATS_TEST_TMPDIR/pipe" "$BATS_TEST_TMPDIR/pipe.c"
  run -141 "$BATS_TEST_TMPDIR/pipe"
  run -1 --separate-stderr "$FORKSRV" --json -- "$BATS_TEST_TMPDIR/pipe"
  [[ "$output" == *'"result":"crashed","signal":"SIGPIPE"'* ]]
  run -1 --separate-stderr "$FORKSRV" --json --no-server -- "$BATS_TEST_TMPDIR/pipe"
  [[ "$output" == *'"result":"crashed","signal":"SIGPIPE"'* ]]
}
