#!/usr/bin/env bash
# One closed-loop run (4 TRX binds x window 64, a receipt per message) of
# the ESME-to-ESME mode (MODE=e2e, the default) or the receipt scenario
# (MODE=rcpt) against SMSC, server pinned to core 0 and the load test to
# core 1; prints the throughput line and the CPU of both processes over
# 2 s of steady state (from /proc). For quick A/B runs of two builds:
#
#   for i in 1 2 3 4; do for b in old new; do
#     echo "$b $(loadtest/scripts/e2e_cpu.sh ./smsc-$b | head -1)"; done; done
#
# Environment: MODE=e2e|rcpt MO_BINDS=4 PORT=27797 LOADTEST=target/release/loadtest.
# The server is started here and stopped by its PID on any exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SMSC=${1:-$ROOT/target/release/smsc}
LT=${LOADTEST:-$ROOT/target/release/loadtest}
MODE=${MODE:-e2e}
PORT=${PORT:-27797}
"$SMSC" --listen 127.0.0.1:$PORT --threads 1 --cores 0 --account a:pw --account b:pw \
    --route 4479=b --stats-interval 0 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
extra=()
[ "$MODE" = e2e ] && extra=(--mo-system-id b --mo-password pw --mo-prefix 4479 --mo-binds "${MO_BINDS:-4}")
out=$(mktemp)
timeout 40 "$LT" run --addr 127.0.0.1:$PORT --system-id a --password pw --threads 1 --cores 1 \
    --binds 4 --window 64 --bind trx --receipts 1 --duration 4s --warmup 1s \
    --server-pid $pid "${extra[@]}" >"$out" 2>&1 &
lp=$!
sleep 2.5
lt=$(pgrep -P $lp | head -1)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
s0=$(ticks $pid); l0=$(ticks "$lt"); sleep 2; s1=$(ticks $pid); l1=$(ticks "$lt")
wait $lp
grep -E "^throughput" "$out"
echo "server cpu $(( (s1 - s0) / 2 ))%  loadtest cpu $(( (l1 - l0) / 2 ))%"
[ -n "${KEEP:-}" ] && cat "$out"; rm -f "$out"
