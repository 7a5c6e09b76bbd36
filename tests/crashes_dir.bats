#!/usr/bin/env bats
# --crashes DIR where others could plant links: forksrv writes only into a directory that is the
# user's own and that nobody else can write, makes every file new (O_EXCL|O_NOFOLLOW, never through
# a link, never over a file), saves each input once, and writes .repro lines that run the target as
# forksrv ran it.
load helpers

needs_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
  chmod o+x "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$BATS_TEST_TMPDIR"
}

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

@test "a directory another user owns is refused, and the links planted in it are not followed" {
  needs_root
  local shared="$BATS_TEST_TMPDIR/shared" victim="$BATS_TEST_TMPDIR/victim"
  mkdir -m 1777 "$shared"
  printf secret >"$victim"
  chmod 600 "$victim"
  as_nobody mkdir "$shared/crashes"
  as_nobody ln -s "$victim" "$shared/crashes/b"
  as_nobody ln -s "$BATS_TEST_TMPDIR/newfile" "$shared/crashes/b.repro"
  run -2 --separate-stderr "$FORKSRV" --crashes "$shared/crashes" -i "$(input b segv)" -- "$T/crash"
  [ "$stderr" = "forksrv: --crashes $shared/crashes: owned by uid 65534, not by uid 0: refusing to write there (others could plant links in it)" ]
  [ "$output" = "" ]
  [ "$(cat "$victim")" = secret ]
  [ ! -e "$BATS_TEST_TMPDIR/newfile" ]
}

@test "a directory its group or others may write is refused, with its mode" {
  mkdir -m 0777 "$BATS_TEST_TMPDIR/open"
  chmod 0777 "$BATS_TEST_TMPDIR/open"
  run -2 --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/open" -i "$(input b segv)" -- "$T/crash"
  [ "$stderr" = "forksrv: --crashes $BATS_TEST_TMPDIR/open: writable by others (mode 0777): refusing to write there (others could plant links in it)" ]
  mkdir -m 0770 "$BATS_TEST_TMPDIR/group"
  chmod 0770 "$BATS_TEST_TMPDIR/group"
  run -2 --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/group" -i "$(input b segv)" -- "$T/crash"
  [ "$stderr" = "forksrv: --crashes $BATS_TEST_TMPDIR/group: writable by its group (mode 0770): refusing to write there (others could plant links in it)" ]
}

@test "a symlink named as DIR is followed only when it is the user's own" {
  mkdir -m 700 "$BATS_TEST_TMPDIR/mine"
  ln -s "$BATS_TEST_TMPDIR/mine" "$BATS_TEST_TMPDIR/link"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$BATS_TEST_TMPDIR/link" -i "$(input b segv)" -- "$T/crash"
  [ "$(cat "$BATS_TEST_TMPDIR/mine/b")" = segv ]
  needs_root
  mkdir -m 1777 "$BATS_TEST_TMPDIR/shared"
  as_nobody ln -s "$BATS_TEST_TMPDIR/mine" "$BATS_TEST_TMPDIR/shared/crashes"
  run -2 --separate-stderr "$FORKSRV" --crashes "$BATS_TEST_TMPDIR/shared/crashes" -i "$(input b segv)" -- "$T/crash"
  [ "$stderr" = "forksrv: --crashes $BATS_TEST_TMPDIR/shared/crashes: a symbolic link owned by uid 65534, not by uid 0: refusing to write through it" ]
}

@test "a new DIR is made private, and files already in DIR, links included, are never written" {
  local dir="$BATS_TEST_TMPDIR/crashes"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$dir" -i "$(input b segv)" -- "$T/crash"
  [ "$(stat -c %a "$dir")" = 700 ]
  printf keep >"$BATS_TEST_TMPDIR/target-of-link"
  rm "$dir/b.repro"
  ln -s "$BATS_TEST_TMPDIR/target-of-link" "$dir/b.repro"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$dir" -i "$BATS_TEST_TMPDIR/in/b" -- "$T/crash"
  [ "$(cat "$BATS_TEST_TMPDIR/target-of-link")" = keep ]
  [ "$(ls "$dir" | tr '\n' ' ')" = "b b-2 b-2.inputs b-2.repro b-2.stderr b.inputs b.repro b.stderr " ]
  [ "$(cat "$dir/b-2")" = segv ]
}

@test "a second crash of one name is NAME-2.EXT: the extension the target saw is kept" {
  mkdir -p "$BATS_TEST_TMPDIR/c1" "$BATS_TEST_TMPDIR/c2"
  printf segv >"$BATS_TEST_TMPDIR/c1/x.tar.gz"
  printf abort >"$BATS_TEST_TMPDIR/c2/x.tar.gz"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$BATS_TEST_TMPDIR/crashes" -i "$BATS_TEST_TMPDIR/c1" -i "$BATS_TEST_TMPDIR/c2" -- "$T/crash" @@
  [ "$(ls "$BATS_TEST_TMPDIR/crashes" | tr '\n' ' ')" = "x-2.tar.gz x-2.tar.gz.inputs x-2.tar.gz.repro x-2.tar.gz.stderr x.tar.gz x.tar.gz.inputs x.tar.gz.repro x.tar.gz.stderr " ]
}

@test "an input called a.stderr does not overwrite crash a's stderr" {
  mkdir "$BATS_TEST_TMPDIR/c"
  printf ABRT >"$BATS_TEST_TMPDIR/c/a"
  printf SEGV >"$BATS_TEST_TMPDIR/c/a.stderr"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$BATS_TEST_TMPDIR/crashes" -i "$BATS_TEST_TMPDIR/c" -- \
    /bin/sh -c 'read x; echo "stderr of $x" >&2; kill -"$x" $$'
  local d="$BATS_TEST_TMPDIR/crashes"
  [ "$(ls "$d" | tr '\n' ' ')" = "a a-2.stderr a-2.stderr.inputs a-2.stderr.repro a-2.stderr.stderr a.inputs a.repro a.stderr " ]
  [ "$(cat "$d/a")" = ABRT ]
  [ "$(cat "$d/a.stderr")" = "stderr of ABRT" ]
  [ "$(cat "$d/a-2.stderr")" = SEGV ]
  [ "$(cat "$d/a-2.stderr.stderr")" = "stderr of SEGV" ]
}

@test "an input that crashes in each of -n 3 runs is saved once" {
  run -1 --separate-stderr "$FORKSRV" -n 3 --crashes "$BATS_TEST_TMPDIR/crashes" -i "$(input b segv)" -- "$T/crash"
  [ "${#lines[@]}" -eq 3 ]
  [ "$(ls "$BATS_TEST_TMPDIR/crashes" | tr '\n' ' ')" = "b b.inputs b.repro b.stderr " ]
  [ "$(cat "$BATS_TEST_TMPDIR/crashes/b.inputs")" = "$BATS_TEST_TMPDIR/in/b" ]
}

@test "the .repro line substitutes every @@ of an argument and reproduces the crash" {
  # The target crashes only when both halves of its argument name the same file.
  local dir="$BATS_TEST_TMPDIR/crashes"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$dir" -i "$(input "it's" x)" -- \
    /bin/sh -c 'f=${1%%:*}; [ "$f" = "${1#*:}" ] && [ -f "$f" ] && kill -SEGV $$; exit 3' sh @@:@@
  run -139 sh "$dir/it's.repro"
  grep -qF ":$dir/it'\\''s' < '/dev/null'" "$dir/it's.repro"
}

@test "a directory swapped with another user's link while forksrv opens it is never written through" {
  needs_root
  local d="$BATS_TEST_TMPDIR/shared"
  mkdir -m 1777 "$d"
  mkdir -m 700 "$BATS_TEST_TMPDIR/victim"
  cat >"$BATS_TEST_TMPDIR/swap.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  char link[4096];
  snprintf(link, sizeof link, "%s_link", argv[1]);
  mkdir(argv[1], 0700);
  symlink(argv[2], link);
  for (;;) renameat2(AT_FDCWD, argv[1], AT_FDCWD, link, RENAME_EXCHANGE);
}
C
  cc -o "$BATS_TEST_TMPDIR/swap" "$BATS_TEST_TMPDIR/swap.c"
  # exec: $! must be the swapper itself, not a subshell whose death would leave it spinning.
  (exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$BATS_TEST_TMPDIR/swap" "$d/x" "$BATS_TEST_TMPDIR/victim" 3>&-) &
  local swapper=$! i
  input b segv >/dev/null
  for i in $(seq 600); do
    "$FORKSRV" -q --crashes "$d/x" -i "$BATS_TEST_TMPDIR/in/b" -- "$T/crash" 2>/dev/null || true
  done
  kill -KILL "$swapper"
  wait "$swapper" || true
  run -1 pgrep -f "^$BATS_TEST_TMPDIR/swap"
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/victim")" ]
}

@test "one input is kept per distinct crash, a sanitizer's finding known by its summary and top frames; NAME.inputs lists every input that hit it" {
  local c="$BATS_TEST_TMPDIR/c" d="$BATS_TEST_TMPDIR/crashes"
  mkdir "$c"
  printf abort >"$c/ab"
  printf heap-overflow >"$c/ho"
  printf segv >"$c/s1"
  printf segv >"$c/s2"
  printf segv >"$c/s3"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$d" -i "$c" -- "$T/asan_clang"
  [ "$(ls "$d" | tr '\n' ' ')" = "ab ab.inputs ab.repro ab.stderr ho ho.inputs ho.repro ho.stderr s1 s1.inputs s1.repro s1.stderr " ]
  [ "$(cat "$d/s1.inputs")" = "$(printf '%s\n' "$c/s1" "$c/s2" "$c/s3")" ]
  [ "$(cat "$d/ho.inputs")" = "$c/ho" ]
  grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$d/ho.stderr"
}

@test "without a sanitizer's report, crashes are told apart by their signal" {
  local c="$BATS_TEST_TMPDIR/c" d="$BATS_TEST_TMPDIR/crashes"
  mkdir "$c"
  printf segv >"$c/a"
  printf abort >"$c/b"
  printf segv >"$c/c"
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$d" -i "$c" -- "$T/crash"
  [ "$(ls "$d" | tr '\n' ' ')" = "a a.inputs a.repro a.stderr b b.inputs b.repro b.stderr " ]
  [ "$(cat "$d/a.inputs")" = "$(printf '%s\n' "$c/a" "$c/c")" ]
}

@test "a report's numbers are the input's: one place with other indexes is one crash, another place is another; same-named inputs merge" {
  local c="$BATS_TEST_TMPDIR/c" d="$BATS_TEST_TMPDIR/crashes"
  mkdir -p "$c/x" "$c/y"
  printf '3:7' >"$c/a"
  printf '3:9' >"$c/b"
  printf '4:7' >"$c/x/z"
  printf '3:1' >"$c/y/z"
  # A UBSan-like line: the place (file:line:col) names the bug, the index is the input's.
  run -1 --separate-stderr "$FORKSRV" -q --crashes "$d" -i "$c" -- /bin/sh -c \
    'IFS=: read l i; echo "t.c:$l:5: runtime error: index $i out of bounds for type int[4]" >&2; kill -ABRT $$'
  [ "$(ls "$d" | tr '\n' ' ')" = "a a.inputs a.repro a.stderr z z.inputs z.repro z.stderr " ]
  [ "$(cat "$d/a.inputs")" = "$(printf '%s\n' "$c/a" "$c/b" "$c/y/z")" ]
  [ "$(cat "$d/z.inputs")" = "$c/x/z" ]
}

@test "without a report, an assertion's last line tells crashes of one signal apart, and each timeout is kept" {
  local c="$BATS_TEST_TMPDIR/c" d="$BATS_TEST_TMPDIR/crashes"
  mkdir "$c"
  printf 'one' >"$c/a"
  printf 'two' >"$c/b"
  printf 'one' >"$c/c"
  printf 'hang' >"$c/h1"
  printf 'hang' >"$c/h2"
  run -1 --separate-stderr "$FORKSRV" -q -t 200 --crashes "$d" -i "$c" -- /bin/sh -c \
    'read x; [ "$x" = hang ] && while :; do :; done; echo "t: t.c:9: main: Assertion \`$x'"'"' failed." >&2; kill -ABRT $$'
  [ "$(ls "$d" | tr '\n' ' ')" = "a a.inputs a.repro a.stderr b b.inputs b.repro b.stderr h1 h1.inputs h1.repro h1.stderr h2 h2.inputs h2.repro h2.stderr " ]
  [ "$(cat "$d/a.inputs")" = "$(printf '%s\n' "$c/a" "$c/c")" ]
}
