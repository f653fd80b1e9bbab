#!/usr/bin/env bash
# Before/after: two smsc binaries A and B, alternated A B A B ... in one
# sitting, each run a fresh server pinned to SERVER_CORES and the load test
# pinned to LOAD_CORES, for the closed-loop scenarios (no receipts, a
# receipt per message). Prints each pair's throughput, the per-pair ratios
# B/A and their median.
#
#   loadtest/ab.sh OLD_SMSC NEW_SMSC          # 6 pairs of 4 s per scenario
#   PAIRS=8 DURATION=5 loadtest/ab.sh A B
#
# Environment: PAIRS=6 DURATION=4 WARMUP=1 SERVER_CORES=0 LOAD_CORES=1
# PORT=27770 LOADTEST=target/release/loadtest OUT=results/ab-<UTC time>
# SCENARIOS="closed closed-rcpt". Every process is started here, bounded by
# `timeout`, and stopped by its PID.
set -euo pipefail

A=$(realpath "$1")
B=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PAIRS=${PAIRS:-6}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
SERVER_CORES=${SERVER_CORES:-0}
LOAD_CORES=${LOAD_CORES:-1}
PORT=${PORT:-27770}
LOADTEST=${LOADTEST:-$ROOT/target/release/loadtest}
SCENARIOS=${SCENARIOS:-closed closed-rcpt}
OUT=${OUT:-results/ab-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

# run BIN LABEL SCENARIO N: one server, one load-test run; prints msg/s.
run() {
    local bin=$1 label=$2 scen=$3 n=$4 extra=()
    [ "$scen" = closed-rcpt ] && extra=(--receipts 1)
    "$bin" --listen "127.0.0.1:$PORT" --threads 1 --cores "$SERVER_CORES" \
        --account loadtest:secret --stats-interval 0 >"$OUT/$label-$scen-$n.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.05
    done
    local dir="$OUT/$label-$scen-$n"
    timeout $((DURATION + WARMUP + 30)) "$LOADTEST" run --addr "127.0.0.1:$PORT" \
        --system-id loadtest --password secret --threads 1 --cores "$LOAD_CORES" \
        --binds 4 --window 64 --bind trx --duration "${DURATION}s" --warmup "${WARMUP}s" \
        --out "$dir" "${extra[@]}" >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["throughput_per_s"]))' \
        "$dir/summary.json" 2>/dev/null || echo 0
}

for scen in $SCENARIOS; do
    as=() bs=()
    for n in $(seq "$PAIRS"); do
        as+=("$(run "$A" A "$scen" "$n")")
        bs+=("$(run "$B" B "$scen" "$n")")
        echo "$scen pair $n: A ${as[-1]} B ${bs[-1]}" >&2
    done
    python3 - "$scen" "${as[*]}" "${bs[*]}" <<'PY'
import statistics, sys
scen, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
r = [y / x for x, y in zip(a, b) if x > 0]
print(f"{scen}: A {' '.join(f'{x/1e6:.2f}' for x in a)} M/s")
print(f"{scen}: B {' '.join(f'{x/1e6:.2f}' for x in b)} M/s")
print(f"{scen}: B/A per pair {' '.join(f'{x:.3f}' for x in r)}; median {statistics.median(r):.3f} "
      f"(min {min(r):.3f}, max {max(r):.3f}); ratio of medians {statistics.median(b)/statistics.median(a):.3f}")
PY
done
