#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root): bats, the compilers the
# sanitizer targets are built with, afl++ (the real peer of the AFL++ tests), Debian's own programs
# that the fidelity tests run, and the tools that check the install and reports (mandoc, pkg-config,
# xmllint, man). Does nothing when they are already there.
set -eu
need=()
command -v bats >/dev/null || need+=(bats)
command -v clang >/dev/null || need+=(clang)
command -v gcc >/dev/null || need+=(gcc)
command -v afl-fuzz >/dev/null || need+=(afl++)
command -v strace >/dev/null || need+=(strace)
command -v mandoc >/dev/null || need+=(mandoc)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v man >/dev/null || need+=(man-db)
# Real programs, of many formats, for the fidelity tests (tests/direct.bats) and the input start's.
for pair in jq:jq sqlite3:sqlite3 file:file perl:perl readelf:binutils unzip:unzip xz:xz-utils identify:imagemagick \
  m4:m4 awk:mawk gzip:gzip tar:tar script:util-linux; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[ -x /usr/bin/python3 ] || need+=(python3)
# clang's sanitizer and libFuzzer runtimes (the clang ASan target, the fuzz harnesses).
if command -v clang >/dev/null && ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
  clang -x c -fsanitize=fuzzer,address -o /dev/null - 2>/dev/null; then
  need+=(libclang-rt-dev)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}; install them (as root: apt-get install -y ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
