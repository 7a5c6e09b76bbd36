#!/usr/bin/env bats
# scripts/test-deps.sh fetches the newer afl++ from the archive the machine's own apt sources name
# (a local mirror, where there is one), never from a host written into the script.
load helpers

DEPS="$BATS_TEST_DIRNAME/../scripts/test-deps.sh"

@test "the archive is the first non-security one of the deb822 sources, a disabled stanza skipped" {
  mkdir -p "$BATS_TEST_TMPDIR/apt/sources.list.d"
  cat >"$BATS_TEST_TMPDIR/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://old.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
SRC
  run -0 "$DEPS" --archive-uri "$BATS_TEST_TMPDIR/apt"
  [ "$output" = "http://mirror.example/debian" ]
}

@test "a one-line sources.list names the archive too, options in brackets set aside" {
  mkdir -p "$BATS_TEST_TMPDIR/apt/sources.list.d"
  cat >"$BATS_TEST_TMPDIR/apt/sources.list" <<'SRC'
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.example/debian-security bookworm-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://local.example/debian bookworm main
SRC
  run -0 "$DEPS" --archive-uri "$BATS_TEST_TMPDIR/apt"
  [ "$output" = "http://local.example/debian" ]
}

@test "sources that name no archive are said to, in one line" {
  mkdir -p "$BATS_TEST_TMPDIR/apt/sources.list.d"
  run -1 "$DEPS" --archive-uri "$BATS_TEST_TMPDIR/apt"
  [ "$output" = "test-deps: no Debian archive is named in $BATS_TEST_TMPDIR/apt's sources" ]
}

@test "the script names no archive host of its own" {
  run -1 grep -n 'deb\.debian\.org' "$DEPS"
}

@test "a cdrom line, a bracket never closed and a third-party archive are passed over for the Debian one" {
  mkdir -p "$BATS_TEST_TMPDIR/apt/sources.list.d"
  printf 'Types: deb\nURIs: https://apt.llvm.org/bookworm/\nSuites: llvm-toolchain-bookworm\nComponents: main\n' \
    >"$BATS_TEST_TMPDIR/apt/sources.list.d/apt-llvm.sources"
  cat >"$BATS_TEST_TMPDIR/apt/sources.list" <<'SRC'
deb cdrom:[Debian GNU/Linux 12 _Bookworm_] bookworm main
deb [arch=amd64 http://unclosed.example/debian bookworm main
deb http://mirror.example/debian/ bookworm main
SRC
  run -0 timeout 10 "$DEPS" --archive-uri "$BATS_TEST_TMPDIR/apt"
  [ "$output" = "http://mirror.example/debian/" ]
}
