#!/usr/bin/env bash
# The benchmark workflow of issue 5: build release, run the scenarios against
# the minimal responder and the smsc server (pinned to SERVER_CORES) with the
# load test pinned to LOAD_CORES, keep every run's results folder, print the
# comparisons.
#
#   loadtest/bench.sh                 # the default set, 10 s per run
#   DURATION=3 WARMUP=1 loadtest/bench.sh   # quick pass
#   SCENARIOS=many loadtest/bench.sh  # the many-binds pair only (SCENARIOS=all: both sets)
#
# Environment (durations in whole seconds):
#   DURATION=10 WARMUP=2 GRACE=5      measured time, warm-up, receipt grace per run
#   SERVER_CORES=0 LOAD_CORES=1       where the server/responder and the load test run
#   TWO_LOOP_CORES=0,1                cores of the two-loop server
#   BINDS=4 WINDOW=64                 the main scenario's binds and window
#   PORT=27750 RPORT=27760            server and responder ports (127.0.0.1)
#   OUT=results/bench-<UTC time>      where the results go
#   PROFILE=release                   cargo profile (debug: a quick functional check of this script)
#   SCENARIOS=default                 default | many | all
#
# The many-binds pair (SCENARIOS=many; each run against a fresh server, so
# its peak RSS is that run's):
#   MANY_BINDS=2000 FEW_BINDS=4       binds of the two runs
#   MANY_RATE=200000                  total submit_sm/s of both (open loop; 100/s per bind at 2000)
#   MANY_WINDOW=64 FEW_WINDOW=256     window per bind (4 binds at 50,000/s each need a deeper one)
#   MANY_REPLY_HOLD=0                 loadtest --reply-hold of both runs (e.g. 50ms: each deliver_sm_resp
#                                     rides on its bind's next submit, half the load generator's segments)
#   MANY_TICK=0                       loadtest --tick of both runs (e.g. 250us: one wake-up per tick, sends
#                                     up to a tick early, kernel receive stamps; see docs/performance.md)
#   MANY_SERVER_THREADS=1             server loops, pinned to SERVER_CORES
#   MANY_LOAD_THREADS=1 MANY_LOAD_CORES=$LOAD_CORES   the load generator; give it more
#                                     cores and threads if its summary says it saturated
#   many-4binds, many-2000binds       TRX binds, a receipt per message; the load test reads the
#                                     server's CPU (utime+stime) over the measured time and its
#                                     VmRSS/VmHWM from /proc (--server-pid) into summary.json
# The server gets --max-connections of twice the binds (default 100,000) and
# an --account, whose max_binds is unlimited by default; the soft open-file
# limit is raised to the hard one here, for the server and the load test.
#
# Default scenarios (one results folder each under $OUT):
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
SCENARIOS=${SCENARIOS:-default}
MANY_BINDS=${MANY_BINDS:-2000}
FEW_BINDS=${FEW_BINDS:-4}
MANY_RATE=${MANY_RATE:-200000}
MANY_WINDOW=${MANY_WINDOW:-64}
FEW_WINDOW=${FEW_WINDOW:-256}
MANY_SERVER_THREADS=${MANY_SERVER_THREADS:-1}
MANY_LOAD_THREADS=${MANY_LOAD_THREADS:-1}
MANY_REPLY_HOLD=${MANY_REPLY_HOLD:-0}
MANY_TICK=${MANY_TICK:-0}
MANY_LOAD_CORES=${MANY_LOAD_CORES:-$LOAD_CORES}
case "$SCENARIOS" in
    default | many | all) ;;
    *)
        echo "bench: SCENARIOS must be default, many or all (not $SCENARIOS)" >&2
        exit 2
        ;;
esac
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

# Where cargo put them (CARGO_TARGET_DIR, if set, wins over ./target).
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE
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

# start_server THREADS CORES NAME [smsc flags...]
start_server() {
    local threads=$1 cores=$2 name=$3
    shift 3
    "$BIN/smsc" --listen "127.0.0.1:$PORT" --threads "$threads" --cores "$cores" \
        --account loadtest:secret --stats-interval 0 "$@" >"$OUT/smsc-$name.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_port "$PORT"
}

# lt NAME ADDR [loadtest run flags...]; failures are recorded, not fatal.
# LT_CORES (default LOAD_CORES) pins the load test.
lt() {
    local name=$1 addr=$2
    shift 2
    echo "bench: $name" >&2
    local rc=0
    timeout "$RUN_TIMEOUT" "$BIN/loadtest" run --addr "$addr" --system-id loadtest --password secret \
        --cores "${LT_CORES:-$LOAD_CORES}" --duration "${DURATION}s" --warmup "${WARMUP}s" \
        --receipt-grace "${GRACE}s" --out "$OUT/$name" "$@" \
        >"$OUT/$name.txt" 2>"$OUT/$name.progress" || rc=$?
    cat "$OUT/$name.txt"
    if [ "$rc" != 0 ]; then echo "$name: exit $rc" | tee -a "$OUT/failures.txt" >&2; fi
}

throughput_of() {
    grep -o '"throughput_per_s": *[0-9.]*' "$OUT/$1/summary.json" 2>/dev/null | cut -d: -f2 | cut -d. -f1 | tr -d ' '
}

# Raises the soft open-file limit to the hard one (inherited by the server
# and the load test); fails if it cannot cover NEED descriptors.
raise_nofile() {
    local need=$1 hard
    hard=$(ulimit -H -n)
    if [ "$hard" = unlimited ]; then
        ulimit -S -n 1048576 2>/dev/null || true
    else
        ulimit -S -n "$hard"
    fi
    local soft
    soft=$(ulimit -S -n)
    if [ "$soft" != unlimited ] && [ "$soft" -lt "$need" ]; then
        echo "bench: $need open files needed, the limit is $soft (hard $hard): raise it (ulimit -Hn, limits.conf)" >&2
        return 1
    fi
}

run_default() {
    MAIN=(--binds "$BINDS" --window "$WINDOW" --bind trx --mix gsm7=1)

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
}

# The many-binds pair: MANY_BINDS vs FEW_BINDS TRX binds at the same total
# rate, a receipt per message, each against a fresh, pinned server.
run_many() {
    raise_nofile $((2 * MANY_BINDS + 256))
    local n window
    for n in "$FEW_BINDS" "$MANY_BINDS"; do
        if [ "$n" = "$MANY_BINDS" ]; then window=$MANY_WINDOW; else window=$FEW_WINDOW; fi
        start_server "$MANY_SERVER_THREADS" "$SERVER_CORES" "many-${n}binds" \
            --max-connections $((2 * n + 64))
        LT_CORES=$MANY_LOAD_CORES lt "many-${n}binds" "$SADDR" --binds "$n" --window "$window" \
            --bind trx --mix gsm7=1 --receipts 1 --rate "$MANY_RATE" \
            --threads "$MANY_LOAD_THREADS" --reply-hold "$MANY_REPLY_HOLD" --tick "$MANY_TICK" \
            --server-pid "$SRV_PID"
        stop_pid "$SRV_PID"
    done
}

compare_default() {
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
}

compare_many() {
    echo "== $MANY_BINDS binds vs $FEW_BINDS at $MANY_RATE/s in all, a receipt per message (ratios to $FEW_BINDS binds)"
    $CMP "$OUT/many-${FEW_BINDS}binds" "$OUT/many-${MANY_BINDS}binds" --out "$OUT/many" || true
}

RADDR=127.0.0.1:$RPORT
SADDR=127.0.0.1:$PORT
CMP="$BIN/loadtest compare"
case "$SCENARIOS" in
    default) run_default ;;
    many) run_many ;;
    all)
        run_default
        run_many
        ;;
esac
{
    case "$SCENARIOS" in
        default) compare_default ;;
        many) compare_many ;;
        all)
            compare_default
            echo
            compare_many
            ;;
    esac
    if [ -s "$OUT/failures.txt" ]; then
        echo
        echo "runs that failed their checks:"
        cat "$OUT/failures.txt"
    fi
} | tee "$OUT/compare.txt"
