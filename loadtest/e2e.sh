#!/usr/bin/env bash
# ESME to ESME vs the receipt scenario (issue 11's target: >= 0.5x), one
# smsc binary, the two scenarios alternated R E R E ... in one sitting,
# each run against a fresh server pinned to SERVER_CORES with the load
# test pinned to LOAD_CORES (closed loop, 4 TRX binds x window 64, a
# receipt per message). Prints each pair's messages/s, the per-pair ratios
# E/R and their median; then (QUERY=1) one run of the receipt scenario with
# query_sm and enquire_link beside the messages, their p99s side by side.
#
#   loadtest/e2e.sh [SMSC]            # default target/release/smsc
#   PAIRS=5 DURATION=4 loadtest/e2e.sh
#
# Environment: PAIRS=5 DURATION=4 WARMUP=1 SERVER_CORES=0 LOAD_CORES=1
# PORT=27790 BINDS=4 WINDOW=64 (the load test's window per bind, and the
# server's --window for its deliver_sm) MO_BINDS=4 MO_WINDOW=delivered
# (the load test's --mo-window: `receipt` holds a message's room until its
# receipt too, as before the eighth session) QUERY=1 PERF=e2e-1
# (record the server's profile in that run: perf-e2e-1.data)
# QUERY_SHARE=0.01 ENQUIRE_SHARE=0.01
# LOADTEST=target/release/loadtest OUT=results/e2e-<UTC time>. Every process
# is started here, bounded by `timeout`, and stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMSC=$(realpath "${1:-$ROOT/target/release/smsc}")
cd "$ROOT"
PAIRS=${PAIRS:-5}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
SERVER_CORES=${SERVER_CORES:-0}
LOAD_CORES=${LOAD_CORES:-1}
PORT=${PORT:-27790}
MO_BINDS=${MO_BINDS:-4}
MO_WINDOW=${MO_WINDOW:-delivered}
BINDS=${BINDS:-4}
WINDOW=${WINDOW:-64}
QUERY=${QUERY:-1}
QUERY_SHARE=${QUERY_SHARE:-0.01}
ENQUIRE_SHARE=${ENQUIRE_SHARE:-0.01}
LOADTEST=${LOADTEST:-$ROOT/target/release/loadtest}
OUT=${OUT:-results/e2e-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
SERVER_PID=
# The server is stopped by its PID after each run, and on any exit.
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT

# run LABEL EXTRA...: one server, one load-test run; prints the summary path.
run() {
    local label=$1
    shift
    "$SMSC" --listen "127.0.0.1:$PORT" --threads 1 \
        --cores "$SERVER_CORES" --account a:pw --account b:pw --route 4479=b \
        --window "$WINDOW" --stats-interval 0 >"$OUT/$label.log" 2>&1 &
    local pid=$!
    SERVER_PID=$pid
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.05
    done
    if [ "$label" = "${PERF:-}" ]; then
        # The server's profile over the measured time of this run.
        (sleep $((WARMUP + 1)); timeout $((DURATION + 10)) perf record -q -e cpu-clock -g \
            -p "$pid" -o "$OUT/perf-$label.data" -- sleep $((DURATION - 1)) >/dev/null 2>&1) &
    fi
    timeout $((DURATION + WARMUP + 30)) "$LOADTEST" run --addr "127.0.0.1:$PORT" \
        --system-id a --password pw --threads 1 --cores "$LOAD_CORES" \
        --binds "$BINDS" --window "$WINDOW" --bind trx --receipts 1 --duration "${DURATION}s" \
        --warmup "${WARMUP}s" --server-pid "$pid" --out "$OUT/$label" "$@" \
        >"$OUT/$label.txt" 2>"$OUT/$label.err" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

for n in $(seq "$PAIRS"); do
    run "rcpt-$n"
    run "e2e-$n" --mo-system-id b --mo-password pw --mo-prefix 4479 --mo-binds "$MO_BINDS" \
        --mo-window "$MO_WINDOW"
    echo "pair $n done" >&2
done
if [ "$QUERY" = 1 ]; then
    run "query" --query-share "$QUERY_SHARE" --enquire-share "$ENQUIRE_SHARE"
fi

python3 - "$OUT" "$PAIRS" "$QUERY" <<'PY'
import json, statistics, sys
out, pairs, query = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def load(label):
    try:
        return json.load(open(f"{out}/{label}/summary.json"))
    except OSError:
        return None
r = [load(f"rcpt-{n}") for n in range(1, pairs + 1)]
e = [load(f"e2e-{n}") for n in range(1, pairs + 1)]
rt = [s["throughput_per_s"] if s else 0 for s in r]
et = [s["throughput_per_s"] if s else 0 for s in e]
print("receipt scenario (M msg/s):", " ".join(f"{x/1e6:.3f}" for x in rt))
print("ESME to ESME     (M msg/s):", " ".join(f"{x/1e6:.3f}" for x in et))
ratios = [y / x for x, y in zip(rt, et) if x > 0]
if ratios:
    print(f"E/R per pair {' '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f}; "
          f"ratio of medians {statistics.median(et) / max(statistics.median(rt), 1):.3f}")
for n, s in enumerate(e, 1):
    if s:
        m, l = s["mo"], s["latency_us"]
        print(f"e2e-{n}: pass {s['pass']} MO/s {s['mo_per_s']:.0f} missing {m['missing']} unknown {m['unknown']} "
              f"duplicate {m['duplicate']} receipts missing {s['receipts']['missing']}; "
              f"MO p50/p99 {l['mo']['uncorrected']['p50']}/{l['mo']['uncorrected']['p99']} us, "
              f"receipt p50/p99 {l['receipt']['uncorrected']['p50']}/{l['receipt']['uncorrected']['p99']} us; "
              f"server cpu {s.get('server', {}).get('cpu_pct', 0):.0f}%")
q = load("query") if query else None
if q:
    l = q["latency_us"]
    print(f"query mix: {q['throughput_per_s']/1e6:.3f} M msg/s, query_sm {q['queries']} p50/p99 "
          f"{l['query']['p50']}/{l['query']['p99']} us; enquire_link {q['enquire_links']} p50/p99 "
          f"{l['enquire_link']['p50']}/{l['enquire_link']['p99']} us; "
          f"query p99 / enquire_link p99 = {q['query_p99_over_enquire_p99']:.2f}")
PY
