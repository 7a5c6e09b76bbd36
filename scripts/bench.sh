#!/usr/bin/env bash
# The performance contract, measured side by side in one run: samples alternate between the modes
# compared, so that the machine's noise falls on all of them alike; the ratios of the medians are the
# figures to quote, and every median goes to bench/results.tsv. Sections: 1 the cost of an execution,
# 2 parallel jobs, 3 fork against touched heap, 4 the demo, 5 start points, 6 afl-fuzz, 7 Debian's,
# 8 snapshot reset against fork, 9 page faults, TLB flushes and system calls per execution, 10 AFL++
# with snapshot reset against its own compiled-in server.
# Usage: scripts/bench.sh [BUILD_DIR] [SAMPLES] [SECTIONS]   e.g. scripts/bench.sh build 5 "1 2"
set -eu
here=$(cd "$(dirname "$0")" && pwd)
b=$(cd "${1:-build}" && pwd)
samples=${2:-5}
sections=${3:-1 2 3 4 5 6 7 8 9 10}
target="$b/bench/target" heap_target="$b/bench/heap_target"
[ -x "$b/forksrv" ] && [ -x "$target" ] && [ -x "$heap_target" ] && [ -x "$b/bench/calls" ] && [ -x "$b/examples/parser" ] || { echo "bench: run 'make bench'" >&2; exit 2; }
results="$here/../bench/results.tsv"
mkdir -p "$(dirname "$results")"
work=$(mktemp -d "${TMPDIR:-/tmp}/forksrv-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# afl++ is optional: without it, sections 1, 6 and 10 skip their AFL++ rows.
have_afl=0
command -v afl-clang-fast >/dev/null && command -v afl-fuzz >/dev/null && have_afl=1

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# row SECTION NAME UNIT "SAMPLES": one line of the table and of results.tsv.
row() {
  local m
  m=$(printf '%s\n' $4 | median)
  printf '%-44s %10s %-8s %s\n' "$2" "$m" "$3" "$4"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$m" "$3" "$4" >>"$results"
}
# ratio SECTION NAME "A" "B" GOAL: median(A)/median(B), with the goal it is held to, if any.
ratio() {
  local r
  r=$(awk -v a="$(printf '%s\n' $3 | median)" -v b="$(printf '%s\n' $4 | median)" 'BEGIN { printf "%.2f", a / b }')
  printf '%-44s %9sx %s\n' "$2" "$r" "${5:+  goal $5}"
  printf '%s\t%s\t%s\tx\t%s\n' "$1" "$2" "$r" "${5:-}" >>"$results"
}
# The CLI's own count: microseconds per execution, start-up not counted.
cli_us() { "$b/forksrv" "$@" 2>&1 >/dev/null | sed -n 's/^forksrv: \([0-9]*\) executions in \([0-9.]*\) s .*/\1 \2/p' | awk '$1 > 0 { printf "%.1f\n", $2 * 1e6 / $1 }'; }
cli_rate() { "$b/forksrv" "$@" 2>&1 >/dev/null | sed -n 's/.* (\([0-9]*\) execs\/s.*/\1/p'; }
us() { sed -n 's/^\([0-9.]*\) us\/exec$/\1/p'; }

# The core forksrv would pin to; the programs that do not pin themselves run there too.
core=$("$b/forksrv" -v -n 1 -- "$target" 2>&1 | sed -n 's/^forksrv: pinned to core \([0-9]*\)$/\1/p')
pinned() { if [ -n "$core" ]; then taskset -c "$core" "$@"; else "$@"; fi; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "forksrv bench: $samples samples per mode, $(nproc) cores ($cpu), $(uname -r), $(date -u +%Y-%m-%d)"
printf '# %s\t%s cores\t%s\t%s\t%s samples\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$cpu" "$(uname -r)" "$samples" >"$results"
echo

if [ "$have_afl" = 1 ]; then
  afl-clang-fast -O2 -o "$work/target_afl" "$here/bench/target.c" 2>/dev/null
fi

for section in $sections; do
case $section in
1)
  # The floor is fork+_exit+waitpid inside the target; the strict floor's children also read stdin,
  # bound now as forksrv's children are. One AFL-protocol client drives AFL++'s compiled-in server
  # and libforksrv.so's AFL mode alike.
  n=20000
  floor="" strict="" cli="" main="" api="" afl="" ours="" plain="" snap="" apisnap="" loop="" calls=""
  for i in $(seq "$samples"); do
    floor="$floor $(pinned "$target" floor "$n" | us)"
    strict="$strict $(LD_BIND_NOW=1 pinned "$target" floor-main "$n" </dev/null | us)"
    cli="$cli $(cli_us -n "$n" -- "$target")"
    snap="$snap $(cli_us --reset snapshot -n "$n" -- "$target")"
    loop="$loop $(LOOP_N=1000 cli_us -n $((n * 2)) -- "$b/tests/persistent")"
    # 32: the system calls a put-back of this target makes beyond persistent mode's (section 9).
    calls="$calls $(BENCH_CALLS=32 cli_us -n $((n * 2)) -- "$b/bench/calls")"
    main="$main $(cli_us --start main -n "$n" -- "$target")"
    api="$api $(pinned "$b/bench/api_client" "$n" "$b/libforksrv.so" "$target" | us)"
    apisnap="$apisnap $(BENCH_RESET=snapshot pinned "$b/bench/api_client" "$n" "$b/libforksrv.so" "$target" | us)"
    ours="$ours $(pinned "$b/bench/afl_client" "$n" env LD_PRELOAD="$b/libforksrv.so" "$target" | us)"
    [ "$have_afl" = 1 ] && afl="$afl $(pinned "$b/bench/afl_client" "$n" "$work/target_afl" | us)"
    plain="$plain $(cli_us --no-server -n 3000 -- "$target")"
  done
  echo "1. per-execution cost, trivial target, pinned to core ${core:-none}   us/exec (median, samples)"
  row 1 "floor: fork+_exit+waitpid in the target" us "$floor"
  row 1 "strict floor: child reads as main, bound now" us "$strict"
  row 1 "forksrv CLI -n $n" us "$cli"
  row 1 "forksrv CLI --reset snapshot" us "$snap"
  row 1 "forksrv CLI --start main" us "$main"
  row 1 "persistent mode, forksrv_loop(1000)" us "$loop"
  row 1 "persistent mode + 32 state reads per input" us "$calls"
  row 1 "client API, tight loop" us "$api"
  row 1 "client API, tight loop, --reset snapshot" us "$apisnap"
  row 1 "libforksrv.so AFL mode, afl_client" us "$ours"
  [ "$have_afl" = 1 ] && row 1 "AFL++ compiled-in server, afl_client" us "$afl"
  row 1 "fork+exec (--no-server)" us "$plain"
  ratio 1 "CLI / floor" "$cli" "$floor" "<= 1.10"
  ratio 1 "CLI / strict floor" "$cli" "$strict"
  ratio 1 "CLI --reset snapshot / floor" "$snap" "$floor" "<= 0.10"
  ratio 1 "CLI --reset snapshot / persistent mode" "$snap" "$loop" "<= 2"
  ratio 1 "persistent + 32 state reads / persistent" "$calls" "$loop"
  ratio 1 "CLI --start main / floor" "$main" "$floor"
  ratio 1 "CLI --start main / strict floor" "$main" "$strict"
  ratio 1 "client API / floor" "$api" "$floor"
  ratio 1 "client API --reset snapshot / floor" "$apisnap" "$floor" "<= 0.10"
  [ "$have_afl" = 1 ] && ratio 1 "AFL++ compiled-in / libforksrv AFL mode" "$afl" "$ours" ">= 1.0"
  ratio 1 "fork+exec / CLI" "$plain" "$cli" ">= 4"
  echo
  ;;
2)
  n=20000
  one="" two="" all="" floor1="" floor2="" sone="" stwo=""
  # What the machine itself allows: the floor loop alone, and one copy on each of two cores at once.
  floor_rate() { awk '{ printf "%.0f\n", 1e6 / $1 }'; }
  for i in $(seq "$samples"); do
    one="$one $(cli_rate -j 1 -n "$n" -- "$target")"
    two="$two $(cli_rate -j 2 -n "$n" -- "$target")"
    sone="$sone $(cli_rate --reset snapshot -j 1 -n "$n" -- "$target")"
    stwo="$stwo $(cli_rate --reset snapshot -j 2 -n "$n" -- "$target")"
    [ "$(nproc)" -gt 2 ] && all="$all $(cli_rate -j "$(nproc)" -n "$n" -- "$target")"
    if [ "$(nproc)" -ge 2 ]; then
      floor1="$floor1 $(taskset -c 0 "$target" floor "$n" | us | floor_rate)"
      taskset -c 0 "$target" floor "$n" >"$work/floor0" &
      taskset -c 1 "$target" floor "$n" >"$work/floor1"
      wait
      floor2="$floor2 $(cat "$work/floor0" "$work/floor1" | us | floor_rate | awk '{ s += $1 } END { print s }')"
    fi
  done
  echo "2. parallel servers, trivial target, -n $n         execs/s (median, samples)"
  row 2 "-j 1" execs/s "$one"
  row 2 "-j 2" execs/s "$two"
  [ "$(nproc)" -gt 2 ] && row 2 "-j $(nproc)" execs/s "$all"
  ratio 2 "-j 2 / -j 1" "$two" "$one" ">= 1.7"
  # Each job's snapshot child is put back in place: nothing serialises on page-table copies.
  row 2 "--reset snapshot -j 1" execs/s "$sone"
  row 2 "--reset snapshot -j 2" execs/s "$stwo"
  ratio 2 "--reset snapshot: -j 2 / -j 1" "$stwo" "$sone" ">= 1.8"
  if [ -n "$floor2" ]; then
    row 2 "floor loop, one core" execs/s "$floor1"
    row 2 "floor loop, two cores at once" execs/s "$floor2"
    ratio 2 "the machine's own: two cores / one" "$floor2" "$floor1"
  fi
  echo
  ;;
3)
  echo "3. fork cost against touched heap (--start main: the heap exists at the fork)   us/exec (median, samples)"
  for thp in 0 1; do
    for mb in 1 64 256 1024; do
      n=$((mb >= 1024 ? 60 : mb >= 256 ? 200 : mb >= 64 ? 600 : 3000))
      [ "$thp" = 1 ] && n=$((n * 4))
      floor="" cli=""
      for i in $(seq "$samples"); do
        floor="$floor $(BENCH_HEAP_MB=$mb BENCH_THP=$thp pinned "$heap_target" floor "$n" | us)"
        cli="$cli $(BENCH_HEAP_MB=$mb BENCH_THP=$thp cli_us --start main -n "$n" -- "$heap_target")"
      done
      pages=$([ "$thp" = 1 ] && echo "huge pages" || echo "4 KiB pages")
      row 3 "$mb MiB, $pages: floor" us "$floor"
      row 3 "$mb MiB, $pages: forksrv" us "$cli"
    done
  done
  echo
  ;;
4)
  corpus="$b/examples/corpus"
  server="" unpinned="" plain=""
  for i in $(seq "$samples"); do
    server="$server $(cli_rate -i "$corpus" -- "$b/examples/parser")"
    unpinned="$unpinned $(cli_rate --no-pin -i "$corpus" -- "$b/examples/parser")"
    plain="$plain $(cli_rate --no-server -i "$corpus" -- "$b/examples/parser")"
  done
  echo "4. the demo parser, $(ls "$corpus" | wc -l) inputs         execs/s (median, samples)"
  row 4 "fork server (pinned, the default)" execs/s "$server"
  row 4 "fork server --no-pin" execs/s "$unpinned"
  row 4 "fork+exec (--no-server)" execs/s "$plain"
  ratio 4 "fork server / fork+exec" "$server" "$plain"
  echo
  ;;
5)
  start_rate() { INIT_MS=5 cli_rate "$@"; }
  plain="" early="" main="" deferred="" one="" loop=""
  for i in $(seq "$samples"); do
    plain="$plain $(start_rate --no-server -n 300 -- "$b/tests/heavy_init")"
    early="$early $(start_rate -n 300 -- "$b/tests/heavy_init")"
    main="$main $(start_rate --start main -n 3000 -- "$b/tests/heavy_init")"
    deferred="$deferred $(start_rate -n 3000 -- "$b/tests/deferred")"
    one="$one $(LOOP_N=1 cli_rate -n 5000 -- "$b/tests/persistent")"
    loop="$loop $(LOOP_N=1000 cli_rate -n 50000 -- "$b/tests/persistent")"
  done
  echo "5. start points, a target with 5 ms of set-up        execs/s (median, samples)"
  row 5 "fork+exec (--no-server)" execs/s "$plain"
  row 5 "early (default: the entry)" execs/s "$early"
  row 5 "--start main" execs/s "$main"
  row 5 "forksrv_start() after set-up" execs/s "$deferred"
  ratio 5 "main / fork+exec" "$main" "$plain" ">= 5"
  ratio 5 "deferred / fork+exec" "$deferred" "$plain" ">= 5"
  row 5 "trivial target, fork per input" execs/s "$one"
  row 5 "trivial target, forksrv_loop(1000)" execs/s "$loop"
  ratio 5 "persistent / fork per input" "$loop" "$one" ">= 20"
  echo
  ;;
6)
  if [ "$have_afl" = 0 ]; then
    echo "6. afl-fuzz: skipped (apt-get install afl++)"
    continue
  fi
  mkdir -p "$work/seeds"
  printf 'hello' >"$work/seeds/a"
  afl-clang-fast -O2 -o "$work/exit_code_afl" "$here/../tests/targets/exit_code.c" 2>/dev/null
  execs=30000
  # execs/s of one whole afl-fuzz run of $execs executions (start-up included, the same for every
  # mode). Usage: afl_rate TARGET [VAR=VALUE...] afl-fuzz [OPTIONS]
  afl_rate() {
    local t=$1 t0 t1
    shift
    rm -rf "$work/out"
    t0=$(date +%s%N)
    env AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "$@" -E "$execs" \
      -i "$work/seeds" -o "$work/out" -- "$t" >/dev/null 2>&1 </dev/null || { echo 0; return; }
    t1=$(date +%s%N)
    echo $((execs * 1000000000 / (t1 - t0)))
  }
  faux="" preload="" instr=""
  for i in $(seq "$samples"); do
    faux="$faux $(afl_rate "$b/tests/exit_code" afl-fuzz -n)"
    preload="$preload $(afl_rate "$b/tests/exit_code" AFL_PRELOAD="$b/libforksrv.so" AFL_DUMB_FORKSRV=1 afl-fuzz -n)"
    instr="$instr $(afl_rate "$work/exit_code_afl" afl-fuzz)"
  done
  echo "6. afl-fuzz, $execs executions of a trivial target      execs/s (median, samples)"
  row 6 "afl-fuzz -n (fork+exec fauxserver)" execs/s "$faux"
  row 6 "afl-fuzz -n + libforksrv.so" execs/s "$preload"
  row 6 "afl-clang-fast build, own server" execs/s "$instr"
  ratio 6 "libforksrv.so / fauxserver" "$preload" "$faux"
  ratio 6 "libforksrv.so / compiled-in server" "$preload" "$instr"
  echo
  ;;
7)
  mkdir -p "$work/prog"
  printf '{"a": [1, 2, {"b": null}], "c": "%s"}' "$(head -c 3000 /dev/zero | tr '\0' x)" >"$work/prog/valid.json"
  printf '[1, 2' >"$work/prog/broken.json"
  printf 'import json\nprint(json.dumps({"a": [1, 2]}))\n' >"$work/prog/ok.py"
  printf 'my %%h = (a => 1); print join(",", keys %%h), "\\n";\n' >"$work/prog/ok.pl"
  printf 'create table t(x); insert into t values (1), (2); select sum(x) from t;\n' >"$work/prog/ok.sql"
  printf '<a><b c="d"/></a>' >"$work/prog/ok.xml"
  n=200
  echo "7. Debian's programs, $n executions each      execs/s (median, samples)"
  # program NAME INPUT ARGS...: the start points, forked and under snapshot reset, and --reset auto,
  # on one input, side by side.
  autos=""
  program() {
    local name=$1 in=$2 plain="" early="" main="" input="" searly="" smain="" sinput="" auto=""
    shift 2
    command -v "$1" >/dev/null || { echo "$name: skipped (not installed)"; return; }
    for i in $(seq "$samples"); do
      plain="$plain $(cli_rate --no-server -n "$n" -i "$in" -- "$@")"
      early="$early $(cli_rate -n "$n" -i "$in" -- "$@")"
      main="$main $(cli_rate --start main -n "$n" -i "$in" -- "$@")"
      input="$input $(cli_rate --start input -n "$n" -i "$in" -- "$@")"
      searly="$searly $(cli_rate --reset snapshot -n "$n" -i "$in" -- "$@")"
      smain="$smain $(cli_rate --reset snapshot --start main -n "$n" -i "$in" -- "$@")"
      sinput="$sinput $(cli_rate --reset snapshot --start input -n "$n" -i "$in" -- "$@")"
      auto="$auto $(cli_rate --reset auto -n "$n" -i "$in" -- "$@")"
    done
    row 7 "$name: fork+exec" execs/s "$plain"
    row 7 "$name: default start" execs/s "$early"
    row 7 "$name: --start main" execs/s "$main"
    row 7 "$name: --start input" execs/s "$input"
    row 7 "$name: snapshot, default start" execs/s "$searly"
    row 7 "$name: snapshot, --start main" execs/s "$smain"
    row 7 "$name: snapshot, --start input" execs/s "$sinput"
    row 7 "$name: --reset auto" execs/s "$auto"
    ratio 7 "$name: input / fork+exec" "$input" "$plain" "${goal:-}"
    ratio 7 "$name: input / default start" "$input" "$early" ">= 1"
    ratio 7 "$name: snapshot, input / fork+exec" "$sinput" "$plain" "${sgoal:-}"
    ratio 7 "$name: --reset auto / fork+exec" "$auto" "$plain"
    autos="$autos $(awk -v a="$(printf '%s\n' $auto | median)" -v b="$(printf '%s\n' $plain | median)" 'BEGIN { printf "%.2f", a / b }')"
  }
  sgoal=">= 30" goal=">= 20" program "jq (@@)" "$work/prog/valid.json" jq . @@
  sgoal=""
  goal="" program "jq (stdin)" "$work/prog/valid.json" jq .
  goal=">= 3" program "python3 (@@)" "$work/prog/ok.py" /usr/bin/python3 @@
  goal="" program "python3 (stdin)" "$work/prog/ok.py" /usr/bin/python3 -
  goal=">= 3" program "perl (@@)" "$work/prog/ok.pl" perl @@
  goal="" program "sqlite3 (stdin)" "$work/prog/ok.sql" sqlite3 :memory:
  goal="" program "file (@@)" "$work/prog/ok.xml" file @@
  goal="" program "xmllint (@@)" "$work/prog/ok.xml" xmllint --noout @@
  [ -n "$autos" ] && printf '%-44s %9sx %s\n' "median of --reset auto / fork+exec" "$(printf '%s\n' $autos | median)" "  goal >= 4"
  echo
  ;;
8)
  # A put-back copies the pages an execution wrote; a fork copies the page tables of all of them.
  # The floor is the heap target's own fork loop, beside forksrv's two modes.
  echo "8. snapshot reset against fork, heap targets (--start main), pages written per input   us/exec (median, samples)"
  for mb in 64 256 1024; do
    for pages in 1 100; do
      n=$((mb >= 1024 ? 60 : mb >= 256 ? 200 : 600)) nsnap=3000
      floor="" fork="" snap=""
      for i in $(seq "$samples"); do
        floor="$floor $(BENCH_HEAP_MB=$mb pinned "$heap_target" floor "$n" | us)"
        fork="$fork $(BENCH_HEAP_MB=$mb BENCH_WRITE_PAGES=$pages cli_us --start main -n "$n" -- "$heap_target")"
        snap="$snap $(BENCH_HEAP_MB=$mb BENCH_WRITE_PAGES=$pages cli_us --reset snapshot --start main -n "$nsnap" -- "$heap_target")"
      done
      row 8 "$mb MiB, $pages pages: floor" us "$floor"
      row 8 "$mb MiB, $pages pages: fork" us "$fork"
      row 8 "$mb MiB, $pages pages: snapshot" us "$snap"
      ratio 8 "$mb MiB, $pages pages: fork / snapshot" "$fork" "$snap" "$(case $mb/$pages in 64/100) echo ">= 20" ;; 1024/100) echo ">= 30" ;; 1024/1) echo ">= 50" ;; esac)"
    done
  done
  corpus="$b/examples/corpus"
  pfork="" psnap="" hloop="" hsnap=""
  for i in $(seq "$samples"); do
    pfork="$pfork $(cli_rate -i "$corpus" -- "$b/examples/parser")"
    psnap="$psnap $(cli_rate --reset snapshot -i "$corpus" -- "$b/examples/parser")"
    hloop="$hloop $(cli_rate -i "$corpus" -- "$b/examples/fuzz_records")"
    hsnap="$hsnap $(cli_rate --reset snapshot -i "$corpus" -- "$b/examples/fuzz_records")"
  done
  echo "   the demo, $(ls "$corpus" | wc -l) inputs                      execs/s (median, samples)"
  row 8 "parser: fork" execs/s "$pfork"
  row 8 "parser: snapshot" execs/s "$psnap"
  row 8 "harness main: persistent (forksrv_loop)" execs/s "$hloop"
  row 8 "harness main: snapshot" execs/s "$hsnap"
  ratio 8 "parser: snapshot / fork" "$psnap" "$pfork"
  ratio 8 "harness main: snapshot / persistent" "$hsnap" "$hloop" ">= 0.7"
  echo
  ;;
9)
  # Counts do not move with the machine's noise as times do. Each is the difference between runs of
  # N and 2N executions, divided by N: what starting the target and the server cost cancels out.
  # Needs perf with the tlb and raw_syscalls tracepoints (root, or perf_event_paranoid -1).
  events=page-faults,tlb:tlb_flush,raw_syscalls:sys_enter
  if ! perf stat -x, -e "$events" true >/dev/null 2>&1; then
    echo "9. counts per execution: skipped (needs perf with tlb:tlb_flush and raw_syscalls:sys_enter)"
    echo
    continue
  fi
  # counts N VAR=VALUE... COMMAND...: the three counts of one run (@N@ in COMMAND becomes N).
  counts() {
    local n=$1
    shift
    perf stat -x, -e "$events" env "${@//@N@/$n}" 2>&1 >/dev/null | awk -F, '$3 ~ /page-faults|tlb_flush|sys_enter/ { printf "%s ", $1 }'
  }
  count_row() {
    local name=$1 n=$2 a b
    shift 2
    a=$(counts "$n" "$@") b=$(counts $((2 * n)) "$@")
    awk -v name="$name" -v n="$n" -v a="$a" -v b="$b" -v tsv="$results" 'BEGIN {
      split(a, x, " "); split(b, y, " ")
      f = (y[1] - x[1]) / n; t = (y[2] - x[2]) / n; c = (y[3] - x[3]) / n
      printf "%-44s %8.2f %8.2f %8.1f\n", name, f, t, c
      printf "9\t%s: page faults\t%.2f\t/exec\t\n9\t%s: TLB flushes\t%.2f\t/exec\t\n9\t%s: system calls\t%.1f\t/exec\t\n", name, f, name, t, name, c >>tsv
    }'
  }
  echo "9. counts per execution (runs of N and 2N, the difference / N)   page faults, TLB flushes, system calls"
  count_row "trivial target, fork" 5000 "$b/forksrv" -n @N@ -- "$target"
  count_row "trivial target, --reset snapshot" 20000 "$b/forksrv" --reset snapshot -n @N@ -- "$target"
  count_row "trivial target, forksrv_loop(1000)" 50000 LOOP_N=1000 "$b/forksrv" -n @N@ -- "$b/tests/persistent"
  count_row "persistent + 32 state reads per input" 50000 BENCH_CALLS=32 "$b/forksrv" -n @N@ -- "$b/bench/calls"
  count_row "256 MiB, 8 pages: fork" 200 BENCH_HEAP_MB=256 BENCH_WRITE_PAGES=8 "$b/forksrv" --start main -n @N@ -- "$heap_target"
  count_row "256 MiB, 8 pages: snapshot" 3000 BENCH_HEAP_MB=256 BENCH_WRITE_PAGES=8 "$b/forksrv" --reset snapshot --start main -n @N@ -- "$heap_target"
  count_row "64 MiB, 10 other pages each: snapshot" 3000 BENCH_HEAP_MB=64 BENCH_WRITE_PAGES=10 BENCH_WRITE_VARY=1 "$b/forksrv" --reset snapshot --start main -n @N@ -- "$heap_target"
  echo
  ;;
10)
  if [ "$have_afl" = 0 ]; then
    echo "10. AFL++ with snapshot reset: skipped (apt-get install afl++)"
    continue
  fi
  # afl-clang-fast builds, served by AFL++'s own compiled-in server and by libforksrv.so through
  # AFL_PRELOAD (fork, snapshot reset): an AFL-protocol client on the trivial target, then whole
  # afl-fuzz runs of the same length on it and on the demo parser, under each afl-fuzz here (Debian
  # 12's 4.04c on PATH; Debian 13's 4.21c where scripts/test-deps.sh fetched it).
  mkdir -p "$work/seeds10"
  printf 'name:12:abcdefghijkl;' >"$work/seeds10/a"
  afl-clang-fast -O2 -o "$work/parser_afl" "$here/../examples/parser.c" "$here/../examples/records.c" 2>/dev/null
  afls=(afl-fuzz)
  current="${FORKSRV_PEERS:-$b/peers}/afl++-trixie/bin/afl-fuzz"
  [ -x "$current" ] && afls+=("$current")
  execs=30000
  fuzz_rate() { # fuzz_rate AFL_FUZZ TARGET [VAR=VALUE...]: execs/s of one run of $execs executions
    local fuzzer=$1 t=$2 t0 t1
    shift 2
    rm -rf "$work/out10"
    t0=$(date +%s%N)
    env AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "$@" "$fuzzer" -E "$execs" \
      -i "$work/seeds10" -o "$work/out10" -- "$t" >/dev/null 2>&1 </dev/null || { echo 0; return; }
    t1=$(date +%s%N)
    echo $((execs * 1000000000 / (t1 - t0)))
  }
  n=20000 own="" fork="" snap=""
  for i in $(seq "$samples"); do
    own="$own $(pinned "$b/bench/afl_client" "$n" "$work/target_afl" | us)"
    fork="$fork $(pinned "$b/bench/afl_client" "$n" env LD_PRELOAD="$b/libforksrv.so" "$work/target_afl" | us)"
    snap="$snap $(pinned "$b/bench/afl_client" "$n" env LD_PRELOAD="$b/libforksrv.so" FORKSRV_RESET=snapshot "$work/target_afl" | us)"
  done
  echo "10. AFL++ with snapshot reset, afl-clang-fast builds      (median, samples)"
  row 10 "afl_client, trivial: own server" us "$own"
  row 10 "afl_client, trivial: libforksrv.so fork" us "$fork"
  row 10 "afl_client, trivial: libforksrv.so snapshot" us "$snap"
  ratio 10 "afl_client, trivial: own / snapshot" "$own" "$snap" ">= 3"
  for fuzzer in "${afls[@]}"; do
    v=$("$fuzzer" -h 2>&1 | grep -o '[0-9]\.[0-9]*c' | head -n 1)
    for t in target parser; do
      own="" snap=""
      for i in $(seq "$samples"); do
        own="$own $(fuzz_rate "$fuzzer" "$work/${t}_afl")"
        snap="$snap $(fuzz_rate "$fuzzer" "$work/${t}_afl" AFL_PRELOAD="$b/libforksrv.so" FORKSRV_RESET=snapshot)"
      done
      name=$([ "$t" = target ] && echo trivial || echo "demo parser")
      goal=$([ "$t" = target ] && echo ">= 3" || echo ">= 2")
      row 10 "afl-fuzz $v, $name: own server" execs/s "$own"
      row 10 "afl-fuzz $v, $name: snapshot" execs/s "$snap"
      ratio 10 "afl-fuzz $v, $name: snapshot / own" "$snap" "$own" "$goal"
    done
  done
  echo
  ;;
esac
done
echo "(table above also in bench/results.tsv)"
