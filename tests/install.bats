#!/usr/bin/env bats
# make install / uninstall into a DESTDIR, building against the install with pkg-config alone, the
# versioned shared library, and the man pages.
load helpers

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"

install_to() {
  make -s -C "$REPO" B="$B" PREFIX=/usr/local DESTDIR="$1" install >/dev/null
}

# pkg-config as a build against the DESTDIR would call it.
pc() {
  PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_LIBDIR="$D/usr/local/lib/pkgconfig" pkg-config "$@"
}

@test "make install puts the CLI, libraries, headers, pkg-config files and man pages under PREFIX; uninstall removes them" {
  D="$BATS_TEST_TMPDIR/dest"
  install_to "$D"
  (cd "$D/usr/local" && find . \( -type f -o -type l \) | sort) >"$BATS_TEST_TMPDIR/files"
  diff - "$BATS_TEST_TMPDIR/files" <<'LIST'
./bin/forksrv
./include/forksrv/forksrv.h
./include/forksrv/forksrv_client.h
./lib/libforksrv.a
./lib/libforksrv.so
./lib/libforksrv.so.0
./lib/libforksrv.so.0.2.0
./lib/libforksrv_client.a
./lib/libforksrv_input.so
./lib/libforksrv_main.a
./lib/pkgconfig/forksrv-client.pc
./lib/pkgconfig/forksrv-main.pc
./lib/pkgconfig/forksrv.pc
./share/man/man1/forksrv.1
./share/man/man3/libforksrv.3
LIST
  make -s -C "$REPO" B="$B" PREFIX=/usr/local DESTDIR="$D" uninstall
  [ -z "$(find "$D" -type f -o -type l)" ]
}

@test "the installed CLI finds the installed libforksrv.so with no option, and gives plain fork+exec's outcomes" {
  D="$BATS_TEST_TMPDIR/dest"
  install_to "$D"
  FORKSRV="$D/usr/local/bin/forksrv" same_as_plain -i "$(input a 3)" -i "$(input b segv)" -- "$T/crash"
  FORKSRV="$D/usr/local/bin/forksrv" run -0 --separate-stderr "$D/usr/local/bin/forksrv" -v -- "$T/exit_code"
  [[ "$stderr" == *"fork server pid "*" started at entry"* ]]
}

@test "a client and static fuzz targets build against the install with pkg-config alone" {
  D="$BATS_TEST_TMPDIR/dest"
  install_to "$D"
  local out="$BATS_TEST_TMPDIR" san=""
  [ "$(sed -n 's/^Description: //p' "$D/usr/local/lib/pkgconfig/forksrv.pc")" = \
    "the forksrv fork server, for linking into a static target" ]
  [ "$(sed -n 's/^Description: //p' "$D/usr/local/lib/pkgconfig/forksrv-main.pc")" = \
    "a main for LLVMFuzzerTestOneInput targets with the forksrv server" ]
  # Under make check the client library is built with ASan and UBSan: a client must link their runtimes.
  nm "$B/libforksrv_client.a" 2>/dev/null | grep -q ' U __asan' && san="-fsanitize=address,undefined"
  # shellcheck disable=SC2046
  cc $san -o "$out/client" "$REPO/tests/client/client_loop.c" $(pc --cflags --libs forksrv-client)
  run -0 "$out/client" 4 "$D/usr/local/lib/libforksrv.so" "$T/exit_code"
  [ "${lines[3]}" = "3 1 3" ]
  [ "${lines[4]}" = "server yes" ]
  # shellcheck disable=SC2046
  cc -static -o "$out/deferred" "$REPO/tests/targets/deferred.c" $(pc --cflags --libs forksrv)
  run -0 --separate-stderr "$D/usr/local/bin/forksrv" -v -i "$(input a 0)" -- "$out/deferred"
  [[ "$stderr" == *"started at deferred"* ]]
  # shellcheck disable=SC2046
  cc -o "$out/harness" "$REPO/tests/targets/harness.c" $(pc --cflags --libs forksrv-main)
  same_as_plain_harness -i "$(input c 0)" -i "$(input d 7)" -- "$out/harness"
}

@test "the shared library has a versioned soname, and --version names the version, protocol and soname" {
  [[ "$(readelf -d "$B/libforksrv.so")" == *"Library soname: [libforksrv.so.0]"* ]]
  run -0 "$FORKSRV" --version
  [ "$output" = "forksrv 0.2.0 (protocol 5, libforksrv.so.0)" ]
}

@test "the man pages lint clean with mandoc and render with man -l" {
  run -0 mandoc -T lint -W warning "$REPO/driver/forksrv.1" "$REPO/preinit/libforksrv.3"
  [ -z "$output" ]
  run -0 env MANWIDTH=80 man -l "$REPO/driver/forksrv.1"
  [[ "$output" == *"--jobs"* ]]
  [[ "$output" == *"EXIT STATUS"* ]]
  run -0 env MANWIDTH=80 man -l "$REPO/preinit/libforksrv.3"
  [[ "$output" == *"drv_run_plain"* ]]
}

@test "installed under a PREFIX with a space and a colon, the CLI still starts its targets, with every start point" {
  local P="$BATS_TEST_TMPDIR/a b:c"
  make -s -C "$REPO" B="$B" PREFIX="$P" install >/dev/null
  [ -x "$P/bin/forksrv" ]
  local start
  for start in early main input; do
    run -0 --separate-stderr "$P/bin/forksrv" -v --start "$start" -i "$(input a 3)" -- "$T/exit_code"
    [[ "$stderr" == *"fork server pid "*" started at "* ]]
    [[ "${lines[0]}" == "exit $BATS_TEST_TMPDIR/in/a: 3 ("* ]]
  done
  FORKSRV="$P/bin/forksrv" same_as_plain -i "$(input b segv)" -- "$T/crash"
  make -s -C "$REPO" B="$B" PREFIX="$P" uninstall
  [ -z "$(find "$P" -type f -o -type l)" ]
}
