#!/usr/bin/env bats
# forksrv's promise, checked on programs nobody here wrote: for every input of their own formats
# (valid, malformed, empty), the outcome under the fork server, at every start point, with snapshot
# reset, and by --no-server is exactly what the shell gives running the same command directly: exit
# status, stdout and stderr, with only the input's path told apart (forksrv's is its private copy's).
load helpers

setup_file() {
  local c="$BATS_FILE_TMPDIR/corpus"
  mkdir -p "$c"/{c,py,pl,json,xml,sql,elf,gz,tar,zip,xz,png,man,awk,m4,sh}
  printf 'int main(void) { return 0; }\n' >"$c/c/ok.c"
  printf 'int main(void) { return 0\n' >"$c/c/bad.c"
  : >"$c/c/empty.c"
  printf 'print("hello")\nimport sys\nsys.exit(3)\n' >"$c/py/exit3.py"
  printf 'raise ValueError("x")\n' >"$c/py/raises.py"
  : >"$c/py/empty.py"
  printf 'print "ok\\n"; exit 2;\n' >"$c/pl/ok.pl"
  printf 'use strict; my $x = ;\n' >"$c/pl/bad.pl"
  : >"$c/pl/empty.pl"
  printf '{"a": [1, 2, {"b": null}]}' >"$c/json/valid.json"
  printf '[1, 2' >"$c/json/broken.json"
  : >"$c/json/empty.json"
  printf '<a><b c="d"/></a>' >"$c/xml/good.xml"
  printf '<a><b></a>' >"$c/xml/bad.xml"
  : >"$c/xml/empty.xml"
  printf 'create table t(x); insert into t values (1); select * from t;\n' >"$c/sql/ok.sql"
  printf 'select * from nope;\n' >"$c/sql/bad.sql"
  : >"$c/sql/empty.sql"
  cp /bin/true "$c/elf/true"
  head -c 300 /bin/true >"$c/elf/header"
  : >"$c/elf/empty"
  printf 'hello\n' | gzip -n >"$c/gz/hello.gz"
  head -c 12 "$c/gz/hello.gz" >"$c/gz/truncated.gz"
  : >"$c/gz/empty.gz"
  mkdir "$BATS_FILE_TMPDIR/member" && printf 'x\n' >"$BATS_FILE_TMPDIR/member/x"
  tar --mtime=@0 --owner=0 --group=0 -C "$BATS_FILE_TMPDIR/member" -cf "$c/tar/one.tar" x
  printf 'not a tar archive at all' >"$c/tar/bad.tar"
  : >"$c/tar/empty.tar"
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr(zipfile.ZipInfo("x", (1990, 1, 1, 0, 0, 0)), "x\n"); z.close()' "$c/zip/one.zip"
  printf 'PK\003\004 broken' >"$c/zip/bad.zip"
  : >"$c/zip/empty.zip"
  printf 'hello\n' | xz >"$c/xz/hello.xz"
  head -c 20 "$c/xz/hello.xz" >"$c/xz/truncated.xz"
  : >"$c/xz/empty.xz"
  python3 -c '
import struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 3, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0\0\0" * 3)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
open(sys.argv[2], "wb").write(png[:40])' "$c/png/tiny.png" "$c/png/cut.png"
  : >"$c/png/empty.png"
  printf '.Dd January 1, 2020\n.Dt X 1\n.Os\n.Sh NAME\n.Nm x\n.Nd an example\n' >"$c/man/good.1"
  printf '.Dd\n.Sh\n.Xx nonsense\n' >"$c/man/bad.1"
  : >"$c/man/empty.1"
  printf 'BEGIN { print "sum", 1 + 2; exit 4 }\n' >"$c/awk/ok.awk"
  printf 'BEGIN { print ( }\n' >"$c/awk/bad.awk"
  : >"$c/awk/empty.awk"
  printf 'define(`x'"'"', `y'"'"')x x\n' >"$c/m4/ok.m4"
  printf 'define(`x, y\n' >"$c/m4/bad.m4"
  : >"$c/m4/empty.m4"
  printf 'echo "$0 ran"; cat "$0" | wc -c; exit 6\n' >"$c/sh/ok.sh"
  printf 'if then fi\n' >"$c/sh/bad.sh"
  : >"$c/sh/empty.sh"
}

# The extension forksrv gives the input's copy (driver/targets.c): .c, .tar.gz, or none.
ext_of() {
  local base=${1##*/} ext=""
  [[ "$base" == ?*.* ]] && ext=".${base##*.}"
  [[ "${base%"$ext"}" == ?*.tar ]] && ext=".tar$ext"
  echo "$ext"
}

# normalise PATH FILE: the input's path (and the path without its extension, which some programs
# print) replaced with @@, in FILE.
normalise() {
  local path=$1 file=$2 ext copy
  ext=$(ext_of "$path")
  copy="$TMPDIR/forksrv\.[[:alnum:]]{6}/[[:alnum:]]{6}/input"
  sed -E -i -e "s#$copy${ext//./\\.}#@@#g" -e "s#$copy#@@-stem#g" -e "s#${path//./\\.}#@@#g" \
    -e "s#${path%"$ext"}#@@-stem#g" "$file"
}

# as_run_directly DIR -- COMMAND...: every input in DIR, run by the shell as the user would run it
# ('@@' replaced by its path, stdin /dev/null; else stdin redirected from it), then through forksrv
# in each mode; status, stdout and stderr must be the direct run's.
as_run_directly() {
  local dir=$1 input mode out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err" expect status
  shift 2
  local by_path=0 arg
  for arg in "$@"; do [[ "$arg" == *@@* ]] && by_path=1; done
  for input in "$dir"/*; do
    local argv=("${@//@@/$input}")
    status=0
    if [ "$by_path" = 1 ]; then "${argv[@]}" </dev/null >"$out.direct" 2>"$err.direct" || status=$?; else
      "${argv[@]}" <"$input" >"$out.direct" 2>"$err.direct" || status=$?; fi
    normalise "$input" "$out.direct"
    normalise "$input" "$err.direct"
    for mode in --start=early --start=main --start=input --reset=snapshot --no-server; do
      # --json's line comes last on stdout, after whatever the target wrote there itself.
      "$FORKSRV" "$mode" --show-output -q --json -t 30000 -i "$input" -- "$@" >"$out" 2>"$err" || true
      perl -0777 -ne 'print substr($_, 0, rindex($_, "{\"input\":"))' "$out" >"$out.target"
      expect=$(perl -0777 -ne 'print substr($_, rindex($_, "{\"input\":"))' "$out")
      # forksrv's lines: the driver's, and the server's own (shown with --show-output, as said() words them).
      grep -v -e '^forksrv: ' -e "^$(said 'forksrv: ')" "$err" >"$err.target" || true
      normalise "$input" "$out.target"
      normalise "$input" "$err.target"
      local code
      code=$(sed -nE 's/.*"exit_code":([0-9]+).*/\1/p' <<<"$expect")
      if [ "$code" != "$status" ] || ! cmp -s "$out.direct" "$out.target" || ! cmp -s "$err.direct" "$err.target"; then
        echo "$input under forksrv $mode: $expect (directly: exit $status)"
        diff "$out.direct" "$out.target" || true
        diff "$err.direct" "$err.target" || true
        return 1
      fi
    done
  done
}

@test "gcc -fsyntax-only @@ compiles each C input, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/c" -- gcc -fsyntax-only @@
}

@test "python3 runs each script, by path and on stdin, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/py" -- /usr/bin/python3 @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/py" -- /usr/bin/python3 -
}

@test "perl runs each script, by path and on stdin, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/pl" -- perl @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/pl" -- perl
}

@test "jq parses each JSON input, by path and on stdin, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/json" -- jq . @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/json" -- jq .
}

@test "xmllint checks each XML input, by path and on stdin, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/xml" -- xmllint --noout @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/xml" -- xmllint --noout -
}

@test "sqlite3 runs each SQL input, on stdin and by .read, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/sql" -- sqlite3 :memory:
  as_run_directly "$BATS_FILE_TMPDIR/corpus/sql" -- sqlite3 :memory: '.read @@'
}

@test "file names each input's type, by path and on stdin, as run directly" {
  local c
  for c in c elf gz png; do
    as_run_directly "$BATS_FILE_TMPDIR/corpus/$c" -- file @@
    as_run_directly "$BATS_FILE_TMPDIR/corpus/$c" -- file -
  done
}

@test "readelf -h reads each ELF input's header, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/elf" -- readelf -h @@
}

@test "gzip tests and unpacks each archive, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/gz" -- gzip -t @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/gz" -- gzip -dc @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/gz" -- gzip -dc
}

@test "tar lists each archive, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/tar" -- tar -tvf @@
}

@test "unzip lists each archive, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/zip" -- unzip -l @@
}

@test "xz tests each archive, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/xz" -- xz -t @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/xz" -- xz -dc
}

@test "ImageMagick's identify reads each image, which it knows by its extension, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/png" -- identify -format '%m %w %h\n' @@
}

@test "mandoc checks and renders each manual page, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/man" -- mandoc -T lint @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/man" -- mandoc -T ascii
}

@test "awk, m4 and sh run each program, as run directly" {
  as_run_directly "$BATS_FILE_TMPDIR/corpus/awk" -- awk -f @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/m4" -- m4 @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/sh" -- sh @@
  as_run_directly "$BATS_FILE_TMPDIR/corpus/sh" -- sh
}

@test "under --reset snapshot each program's corpus, twice over in one run, gives plain fork+exec's outcomes and output, in one child" {
  local c="$BATS_FILE_TMPDIR/corpus" dir cmd argv in_place=0
  # Where the kernel cannot put a child back, every input is forked, and the outcomes must still hold.
  "$FORKSRV" check --reset snapshot -- /bin/true 2>&1 | grep -q '^reset  *snapshot: each child is put back' && in_place=1
  while read -r dir cmd; do
    read -r -a argv <<<"$cmd"
    run --separate-stderr "$FORKSRV" --reset snapshot --verify 1 -n 2 -t 30000 -i "$c/$dir" -- "${argv[@]}"
    [[ "$stderr" != *MISMATCH* ]] || { echo "$dir: $cmd: $stderr"; return 1; }
    [[ "${stderr##*$'\n'}" == *", 0 mismatches" ]] || { echo "$dir: $cmd: $stderr"; return 1; }
    # None of them does anything a put-back cannot undo: one child serves every input.
    [ "$in_place" = 1 ] || continue
    run --separate-stderr "$FORKSRV" --reset snapshot --json -n 2 -t 30000 -i "$c/$dir" -- "${argv[@]}"
    [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ] || { echo "$dir: $cmd: discarded"; return 1; }
  done <<'LIST'
c gcc -fsyntax-only @@
py /usr/bin/python3 @@
py /usr/bin/python3 -
pl perl @@
json jq . @@
json jq .
xml xmllint --noout @@
sql sqlite3 :memory:
elf file @@
gz file -
elf readelf -h @@
gz gzip -dc @@
gz gzip -dc
tar tar -tvf @@
zip unzip -l @@
xz xz -t @@
png identify -format %m_%w_%h @@
man mandoc -T lint @@
man mandoc -T ascii
awk awk -f @@
m4 m4 @@
sh sh @@
sh sh
LIST
}

@test "a corpus that mixes extensions: each input gets its own, from one run" {
  local c="$BATS_TEST_TMPDIR/mixed"
  mkdir "$c"
  cp "$BATS_FILE_TMPDIR/corpus/c/ok.c" "$BATS_FILE_TMPDIR/corpus/png/tiny.png" "$BATS_FILE_TMPDIR/corpus/gz/hello.gz" "$c/"
  run -0 --separate-stderr "$FORKSRV" -v --show-output -i "$c" -- file -b @@
  [ "${lines[0]}" = "gzip compressed data, from Unix, original size modulo 2^32 6" ]
  [ "${lines[1]}" = "C source, ASCII text" ]
  [ "${lines[2]}" = "PNG image data, 2 x 3, 8-bit grayscale, non-interlaced" ]
  [ "$(grep -c '^forksrv: fork server pid [0-9]* started at entry$' <<<"$stderr")" -eq 3 ]
  # --input-name: one name for all, and one server
  run -0 --separate-stderr "$FORKSRV" -v --input-name data.c --show-output -i "$c" -- file -b @@
  [ "${lines[2]}" = "PNG image data, 2 x 3, 8-bit grayscale, non-interlaced" ]
  [ "$(grep -c '^forksrv: fork server pid [0-9]* started at entry$' <<<"$stderr")" -eq 1 ]
  [[ "$stderr" == *"forksrv: input file $TMPDIR/forksrv."??????/??????/data.c* ]]
}
