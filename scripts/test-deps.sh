#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root): bats, the compilers the
# sanitizer targets are built with, afl++ (the real peer of the AFL++ tests), Debian's own programs
# that the fidelity tests run, the tools that check the install and reports (mandoc, pkg-config,
# xmllint, man) and what builds and lints the Debian package; and it fetches Debian 13's afl++
# beside Debian 12's (below), from the archive the machine's apt sources name. Does nothing when they are
# already there. scripts/test-deps.sh --archive-uri [ETC] prints that archive (ETC: /etc/apt).
set -eu
# archive_uri ETC: the URI of each Debian archive (not a security one, nor a cdrom or local one) that
# ETC's sources name, deb822 (sources.list.d/*.sources) or one-line (sources.list, *.list), those that
# look like Debian's own (its keyring, or a path ending in /debian) first.
archive_uri() {
  local f
  {
    for f in "$1"/sources.list.d/*.sources; do
      [ -f "$f" ] && awk 'function out() { if (deb && !off && uri ~ /^(https?|ftp):/ && uri !~ /security/)
          print (key || uri ~ /\/debian\/?$/ ? 0 : 1), uri; deb = off = key = 0; uri = "" }
        /^[[:space:]]*$/ { out() } END { out() }
        tolower($1) == "enabled:" && tolower($2) ~ /^(no|false|off)$/ { off = 1 }
        tolower($1) == "types:" { deb = / deb( |$)/ } tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "signed-by:" && /debian-archive-keyring/ { key = 1 }' "$f"
    done
    for f in "$1"/sources.list "$1"/sources.list.d/*.list; do
      [ -f "$f" ] && awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if (i <= NF && $i ~ /^(https?|ftp):/ && $i !~ /security/) print (/debian-archive-keyring/ || $i ~ /\/debian\/?$/ ? 0 : 1), $i }' "$f"
    done
  } | sort -s -n -k1,1 | cut -d' ' -f2
  return 0
}
if [ "${1:-}" = --archive-uri ]; then
  uri=$(archive_uri "${2:-/etc/apt}" | head -n 1)
  [ -n "$uri" ] || { echo "test-deps: no Debian archive is named in ${2:-/etc/apt}'s sources" >&2; exit 1; }
  echo "$uri"
  exit 0
fi

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
# The Debian package's build and lint (tests/package.bats).
command -v dpkg-buildpackage >/dev/null || need+=(dpkg-dev)
command -v dh >/dev/null || need+=(debhelper)
command -v lintian >/dev/null || need+=(lintian)
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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${need[*]}; install them (as root: apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Current AFL++ (Debian 13's 4.21c, which speaks the new fork-server model) beside Debian 12's
# 4.04c, for the AFL++ tests: fetched with apt-get download through a sources list of its own, with
# the libraries it needs from the same release, into FORKSRV_PEERS (the Makefile's PEERS), and
# run through that release's own loader, so that nothing is installed on the machine. The archive is
# the one the machine's own apt configuration names (a local mirror, where there is one).

current_afl() {
  local dest=$1/afl++-trixie work tool uri
  [ -x "$dest/bin/afl-fuzz" ] && return 0
  uri=$(archive_uri /etc/apt | head -n 1)
  if [ -z "$uri" ]; then
    echo "test-deps: Debian 13's afl++ was not fetched: no Debian archive is named in /etc/apt's sources; the AFL++ tests run against afl++ $(afl-fuzz -h 2>&1 | grep -o '[0-9]\.[0-9]*c' | head -n 1) only" >&2
    return 0
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/forksrv-peers.XXXXXX")
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$work/sources.list"
  local apt=(apt-get -qq -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  if ! command -v apt-get >/dev/null || ! "${apt[@]}" update >/dev/null 2>&1 ||
    ! (cd "$work/debs" && "${apt[@]}" download afl++ libc6 libpython3.13 libexpat1 zlib1g >/dev/null 2>&1); then
    echo "test-deps: Debian 13's afl++ was not fetched: no trixie release is reachable at $uri (the archive /etc/apt names); the AFL++ tests run against afl++ $(afl-fuzz -h 2>&1 | grep -o '[0-9]\.[0-9]*c' | head -n 1) only" >&2
    rm -rf "$work"
    return 0
  fi
  rm -rf "$dest"
  mkdir -p "$dest/bin"
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
  rm -rf "$work"
  for tool in afl-fuzz afl-showmap afl-tmin; do
    printf '#!/bin/sh\nexec "%s/root/usr/lib64/ld-linux-x86-64.so.2" --library-path "%s/root/usr/lib/x86_64-linux-gnu" "%s/root/usr/bin/%s" "$@"\n' \
      "$dest" "$dest" "$dest" "$tool" >"$dest/bin/$tool"
    chmod +x "$dest/bin/$tool"
  done
  # afl-cmin is a script that puts its own directory first on PATH: beside it, it finds the wrapper.
  cp "$dest/root/usr/bin/afl-cmin" "$dest/bin/"
}
[ -n "${FORKSRV_PEERS:-}" ] && current_afl "$FORKSRV_PEERS"
exit 0
