#!/usr/bin/env bash
# The benchmark workflow of issue 5: build release, run the scenarios against
# the minimal responder and the smsc server (pinned to SERVER_CORES) with the
# load test pinned to LOAD_CORES, keep every run's results folder, print the
# comparisons.
#
#   loadtest/bench.sh                 # full set, 10 s per run
#   DURATION=3 WARMUP=1 loadtest/bench.sh   # quick pass
#
# Environment (durations in whole seconds):
#   DURATION=10 WARMUP=2 GRACE=5      measured time, warm-up, receipt grace per run
#   SERVER_CORES=0 LOAD_CORES=1       where the server/responder and the load test run
#   TWO_LOOP_CORES=0,1                cores of the two-loop server
#   BINDS=4 WINDOW=64                 the main scenario's binds and window
#   PORT=27750 RPORT=27760            server and responder ports (127.0.0.1)
#   OUT=results/bench-<UTC time>      where the results go
#   PROFILE=release                   cargo profile (debug: a quick functional check of this script)
#
# Scenarios (one results folder each under $OUT):
#   resp-closed, resp-closed-rcpt          responder, closed loop, without / with a receipt per message
#   smsc1-closed, smsc1-closed-rcpt        server with one loop, the same
#   smsc1-closed-1bind, smsc1-closed-8binds  1 bind vs 8 binds, no receipts
#   smsc1-open-rcpt, resp-open-rcpt        open loop at 50% of smsc1-closed-rcpt, receipts on, same rate for both
#   smsc2-closed, smsc2-closed-rcpt        server with two loops on TWO_LOOP_CORES
# Every process is started here, bounded by `timeout`, and stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
GRACE=${GRACE:-5}
SERVER_CORES=${SERVER_CORES:-0}
LOAD_CORES=${LOAD_CORES:-1}
TWO_LOOP_CORES=${TWO_LOOP_CORES:-0,1}
BINDS=${BINDS:-4}
WINDOW=${WINDOW:-64}
PORT=${PORT:-27750}
RPORT=${RPORT:-27760}
OUT=${OUT:-results/bench-$(date -u +%Y%m%d-%H%M%S)}
RUN_TIMEOUT=$((DURATION + WARMUP + GRACE + 40))

mkdir -p "$OUT"
echo "bench: results in $OUT" >&2

PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
    cargo build --release -p smsc -p loadtest --bins >&2
else
    cargo build -p smsc -p loadtest --bins >&2
fi

BIN=$ROOT/target/$PROFILE
PIDS=()

stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || true
    # Give it its shutdown grace, then insist.
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=()
    for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
}
trap cleanup EXIT INT TERM

wait_port() {
    local port=$1
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "bench: nothing listening on port $port" >&2
    return 1
}

SRV_PID=
start_responder() {
    "$BIN/responder" --listen "127.0.0.1:$RPORT" --cores "$SERVER_CORES" >"$OUT/responder.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_port "$RPORT"
}

# start_server THREADS CORES NAME
start_server() {
    "$BIN/smsc" --listen "127.0.0.1:$PORT" --threads "$1" --cores "$2" \
        --account loadtest:secret --stats-interval 0 >"$OUT/smsc-$3.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_port "$PORT"
}

# lt NAME ADDR [loadtest run flags...]; failures are recorded, not fatal.
lt() {
    local name=$1 addr=$2
    shift 2
    echo "bench: $name" >&2
    local rc=0
    timeout "$RUN_TIMEOUT" "$BIN/loadtest" run --addr "$addr" --system-id loadtest --password secret \
        --cores "$LOAD_CORES" --duration "${DURATION}s" --warmup "${WARMUP}s" \
        --receipt-grace "${GRACE}s" --out "$OUT/$name" "$@" \
        >"$OUT/$name.txt" 2>"$OUT/$name.progress" || rc=$?
    cat "$OUT/$name.txt"
    if [ "$rc" != 0 ]; then echo "$name: exit $rc" | tee -a "$OUT/failures.txt" >&2; fi
}

throughput_of() {
    grep -o '"throughput_per_s":[0-9.]*' "$OUT/$1/summary.json" 2>/dev/null | cut -d: -f2 | cut -d. -f1
}

MAIN=(--binds "$BINDS" --window "$WINDOW" --bind trx --mix gsm7=1)
RADDR=127.0.0.1:$RPORT
SADDR=127.0.0.1:$PORT

start_responder
lt resp-closed "$RADDR" "${MAIN[@]}"
lt resp-closed-rcpt "$RADDR" "${MAIN[@]}" --receipts 1
stop_pid "$SRV_PID"

start_server 1 "$SERVER_CORES" 1loop
lt smsc1-closed "$SADDR" "${MAIN[@]}"
lt smsc1-closed-rcpt "$SADDR" "${MAIN[@]}" --receipts 1
lt smsc1-closed-1bind "$SADDR" --binds 1 --window "$WINDOW"
lt smsc1-closed-8binds "$SADDR" --binds 8 --window "$WINDOW"
MAX=$(throughput_of smsc1-closed-rcpt)
RATE=$(( ${MAX:-0} / 2 ))
if [ "$RATE" -lt 1000 ]; then RATE=1000; fi
echo "bench: open loop at $RATE/s (50% of the server's closed-loop maximum with receipts, ${MAX:-?}/s)" >&2
lt smsc1-open-rcpt "$SADDR" "${MAIN[@]}" --receipts 1 --rate "$RATE"
stop_pid "$SRV_PID"

start_responder
lt resp-open-rcpt "$RADDR" "${MAIN[@]}" --receipts 1 --rate "$RATE"
stop_pid "$SRV_PID"

start_server 2 "$TWO_LOOP_CORES" 2loops
lt smsc2-closed "$SADDR" "${MAIN[@]}"
lt smsc2-closed-rcpt "$SADDR" "${MAIN[@]}" --receipts 1
stop_pid "$SRV_PID"

CMP="$BIN/loadtest compare"
{
    echo "== closed loop, no receipts (ratios to the responder)"
    $CMP "$OUT/resp-closed" "$OUT/smsc1-closed" "$OUT/smsc2-closed" "$OUT/smsc1-closed-1bind" \
        "$OUT/smsc1-closed-8binds" --out "$OUT/closed" || true
    echo
    echo "== closed loop, a receipt per message"
    $CMP "$OUT/resp-closed-rcpt" "$OUT/smsc1-closed-rcpt" "$OUT/smsc2-closed-rcpt" --out "$OUT/receipts" || true
    echo
    echo "== open loop at $RATE/s with receipts"
    $CMP "$OUT/resp-open-rcpt" "$OUT/smsc1-open-rcpt" --out "$OUT/open" || true
    echo
    echo "== one loop vs two"
    $CMP "$OUT/smsc1-closed" "$OUT/smsc2-closed" "$OUT/smsc1-closed-rcpt" "$OUT/smsc2-closed-rcpt" \
        --out "$OUT/loops" || true
    if [ -s "$OUT/failures.txt" ]; then
        echo
        echo "runs that failed their checks:"
        cat "$OUT/failures.txt"
    fi
} | tee "$OUT/compare.txt"
