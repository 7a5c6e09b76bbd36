#!/usr/bin/env bats
# Symlinks in corpora: a path named on the command line is followed wherever it leads; inside a
# directory, symlinks to files are inputs and symlinks to directories are not followed, so that a
# link loop (l -> .) can neither repeat inputs nor make a walk endless. The CLI and the harness main
# (libforksrv_main.a) walk alike.
load helpers

# linked_corpus: real/ holding a, sub/b, la -> a, l1 -> . and l2 -> . ; c -> real; path of c printed.
linked_corpus() {
  local d="$BATS_TEST_TMPDIR"
  mkdir -p "$d/real/sub"
  printf 0 >"$d/real/a"
  printf 0 >"$d/real/sub/b"
  ln -s a "$d/real/la"
  ln -s . "$d/real/l1"
  ln -s . "$d/real/l2"
  ln -s real "$d/c"
  echo "$d/c"
}

@test "-i follows a symlink to a corpus directory, and names its inputs through the link" {
  local c
  c=$(linked_corpus)
  run -0 --separate-stderr "$FORKSRV" --json -i "$c" -- "$T/exit_code"
  [ "$(jq -r .input <<<"$output" | tr '\n' ' ')" = "$c/a $c/la $c/sub/b " ]
}

@test "-i follows a symlink to a file" {
  printf 5 >"$BATS_TEST_TMPDIR/f"
  ln -s f "$BATS_TEST_TMPDIR/lf"
  run -0 --separate-stderr "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/lf" -- "$T/exit_code"
  [[ "$output" == *'"exit_code":5'* ]]
}

@test "inside a directory, links to directories are not followed: a loop of them ends and repeats nothing" {
  local c
  c=$(linked_corpus)
  run -0 --separate-stderr timeout 20 "$FORKSRV" --json -i "$BATS_TEST_TMPDIR/real" -- "$T/exit_code"
  [ "${#lines[@]}" -eq 3 ]
}

@test "--help says which symlinks are followed" {
  run -0 "$FORKSRV" --help
  [[ "$output" == *"PATH may be a symlink, but inside a directory only symlinks"*"to files count, not those to directories."* ]]
}

@test "the harness main follows a symlink named on its command line and skips linked directories inside" {
  local c
  c=$(linked_corpus)
  # A crash planted in sub/ shows that the walk enters real directories; without it, the walk ends
  # (the loop of l1 and l2 made it run on until timeout killed it).
  printf segv >"$BATS_TEST_TMPDIR/real/sub/z"
  cd "$BATS_TEST_TMPDIR"
  run -77 --separate-stderr timeout 20 "$T/harness" "$c"
  [[ "$stderr" == *"SUMMARY: libFuzzer: deadly signal"* ]]
  rm "$BATS_TEST_TMPDIR/real/sub/z"
  run -0 --separate-stderr timeout 20 "$T/harness" "$c"
  run -0 --separate-stderr timeout 20 "$T/harness" "$BATS_TEST_TMPDIR/real/la"
}

@test "the harness main skips a FIFO inside a directory instead of blocking on it" {
  mkdir "$BATS_TEST_TMPDIR/d"
  printf 0 >"$BATS_TEST_TMPDIR/d/a"
  mkfifo "$BATS_TEST_TMPDIR/d/fifo"
  run -0 --separate-stderr timeout 20 "$T/harness" "$BATS_TEST_TMPDIR/d"
}
