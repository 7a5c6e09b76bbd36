#!/usr/bin/env bats
# The Debian package: dpkg-buildpackage builds forksrv and libforksrv-dev from a copy of the tree,
# lintian finds no error in either, and installed on the machine the CLI finds the preload where
# the package put it, serves a target and replays a corpus, and a fuzz target builds against
# libforksrv-dev with pkg-config alone; purged, nothing of them is left.
load helpers

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || true)

# One build for the file, in a copy of the tree (dpkg-buildpackage writes beside the source).
setup_file() {
  command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && command -v lintian >/dev/null || return 0
  mkdir "$BATS_FILE_TMPDIR/src"
  tar -C "$REPO" --exclude=./build --exclude=./.git -cf - . | tar -C "$BATS_FILE_TMPDIR/src" -xf -
  (cd "$BATS_FILE_TMPDIR/src" && dpkg-buildpackage -us -uc -b) >"$BATS_FILE_TMPDIR/build.log" 2>&1 || true
}

setup() {
  command -v dpkg-buildpackage >/dev/null || skip "dpkg-dev is not installed (scripts/test-deps.sh installs it)"
  command -v dh >/dev/null || skip "debhelper is not installed (scripts/test-deps.sh installs it)"
  command -v lintian >/dev/null || skip "lintian is not installed (scripts/test-deps.sh installs it)"
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR"
  export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  DEBS=("$BATS_FILE_TMPDIR/forksrv_"*_*.deb "$BATS_FILE_TMPDIR/libforksrv-dev_"*_*.deb)
}

# Installed by a test, purged after it whatever happened; then the checks every test ends with.
teardown() {
  if [ -e "$BATS_TEST_TMPDIR/installed" ]; then dpkg -P libforksrv-dev forksrv >/dev/null 2>&1 || true; fi
  assert_no_leftovers
}

@test "dpkg-buildpackage -us -uc -b builds forksrv and libforksrv-dev, and lintian reports no error" {
  [ -f "${DEBS[0]}" ] || { tail -n 20 "$BATS_FILE_TMPDIR/build.log"; false; }
  [ -f "${DEBS[1]}" ]
  run -0 lintian --fail-on error "$BATS_FILE_TMPDIR"/forksrv_*.changes
  [[ "$output" != *"E: "* ]]
  # The CLI, the man pages and the preload libraries, in a directory of their own; the rest in -dev.
  run -0 dpkg-deb -c "${DEBS[0]}"
  [[ "$output" == *" ./usr/bin/forksrv"* ]]
  [[ "$output" == *" ./usr/lib/$MULTIARCH/forksrv/libforksrv.so.0.2.0"* ]]
  [[ "$output" == *" ./usr/lib/$MULTIARCH/forksrv/libforksrv_input.so"* ]]
  [[ "$output" == *" ./usr/share/man/man1/forksrv.1.gz"* ]]
  run -0 dpkg-deb -c "${DEBS[1]}"
  [[ "$output" == *" ./usr/include/forksrv/forksrv_client.h"* ]]
  [[ "$output" == *" ./usr/lib/$MULTIARCH/libforksrv_main.a"* ]]
  [[ "$output" == *" ./usr/lib/$MULTIARCH/pkgconfig/forksrv.pc"* ]]
}

@test "both packages carry forksrv's license, Apache-2.0, the one LICENSE holds" {
  [ -f "${DEBS[0]}" ] || { tail -n 20 "$BATS_FILE_TMPDIR/build.log"; false; }
  cmp "$REPO/LICENSE" /usr/share/common-licenses/Apache-2.0
  for deb in "${DEBS[@]}"; do
    rm -rf "$BATS_TEST_TMPDIR/x"
    dpkg-deb -x "$deb" "$BATS_TEST_TMPDIR/x"
    run -0 sed -n 's/^License: //p' "$BATS_TEST_TMPDIR"/x/usr/share/doc/*/copyright
    [ "$output" = "$(printf 'Apache-2.0\nApache-2.0')" ]
  done
}

@test "installed, the CLI serves a target through the package's preload and replays a corpus; purged, nothing is left" {
  [ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
  ! dpkg -s forksrv >/dev/null 2>&1 || skip "a forksrv package is installed already: left as it is"
  [ -x "$B/examples/parser" ] || skip "make examples builds the demo"
  touch "$BATS_TEST_TMPDIR/installed"
  run -0 dpkg -i "${DEBS[@]}"
  run -0 /usr/bin/forksrv check -- "$B/examples/parser"
  [ "${lines[-1]}" = "ok: the fork server serves this target" ]
  # The preload in the child's maps is the package's.
  run -0 /usr/bin/forksrv --show-output -n 1 -- /bin/cat /proc/self/maps
  [[ "$output" == *" /usr/lib/$MULTIARCH/forksrv/libforksrv.so.0.2.0"* ]]
  run -1 /usr/bin/forksrv -i "$B/examples/corpus" -- "$B/examples/parser"
  [[ "${lines[-1]}" == "forksrv: 3000 executions in "*": 2994 exited (31 non-zero), 6 crashed, 0 timed out" ]]
  # The demo's fuzz target, built against libforksrv-dev by pkg-config alone.
  run -0 cc -o "$BATS_TEST_TMPDIR/fuzz_records" "$REPO/examples/fuzz_records.c" "$REPO/examples/records.c" \
    $(pkg-config --cflags --libs forksrv-main)
  run -1 /usr/bin/forksrv -i "$B/examples/corpus" -- "$BATS_TEST_TMPDIR/fuzz_records"
  [[ "${lines[-1]}" == "forksrv: 3000 executions in "*": 2994 exited (0 non-zero), 6 crashed, 0 timed out" ]]
  run -0 dpkg -P libforksrv-dev forksrv
  rm "$BATS_TEST_TMPDIR/installed"
  [ ! -e /usr/bin/forksrv ]
  [ ! -e "/usr/lib/$MULTIARCH/forksrv" ]
  [ ! -e /usr/include/forksrv ]
}
