#!/usr/bin/env bash
# Run inside a private PID namespace (unshare --pid --fork --mount-proc) by tests/pid_reuse.bats:
# an input's child is reaped, a victim process is then made to get that very pid (ns_last_pid),
# and the next input hangs into the timeout. The victim must survive, and the trace must show no
# signal to its pid. Usage: pid_reuse.sh FORKSRV TARGET WORKDIR
set -eu
forksrv=$1 target=$2 work=$3
printf 0 >"$work/a"
printf hang >"$work/b"
mkfifo "$work/results"
strace -f -qq -o "$work/trace" -e trace=kill,tgkill,pidfd_send_signal \
  "$forksrv" --json -t 1500 -i "$work/a" -i "$work/b" -- "$target" >"$work/results" 2>/dev/null &
exec 3<"$work/results"
read -r first <&3
reaped=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$first")
# The next pid the kernel hands out in this namespace is the one just reaped.
echo $((reaped - 1)) >/proc/sys/kernel/ns_last_pid
sleep 30 &
victim=$!
read -r second <&3 || true
exec 3<&-
wait %1 || true
alive=no
kill -0 "$victim" 2>/dev/null && alive=yes
kill "$victim" 2>/dev/null || true
signalled=$(grep -cE "kill\((-)?$victim," "$work/trace" || true)
echo "reaped=$reaped victim=$victim alive=$alive signals_to_victim=$signalled"
echo "second=$second"
