#!/usr/bin/env bash
# User-space instructions per message of one smsc build in the
# ESME-to-ESME mode (a receipt per message) under callgrind: total Ir of
# the run over smsc_submit_ok. Stable on a noisy machine, unlike time.
#
#   loadtest/scripts/cg_e2e.sh ./smsc-old old; loadtest/scripts/cg_e2e.sh ./smsc-new new
#
# Installs valgrind and curl if missing. Writes cg-LABEL.* under OUT (default
# results/cg). The server is started here and stopped by its PID.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$1 LABEL=$2
LT=${LOADTEST:-$ROOT/target/release/loadtest}
OUT=${OUT:-results/cg}
PORT=${PORT:-27780} METRICS=${METRICS:-27781}
mkdir -p "$OUT"
# valgrind and curl are installed with apt if missing (as root, or sudo -n).
for tool in valgrind curl; do
    command -v "$tool" >/dev/null && continue
    APT="apt-get -o DPkg::Lock::Timeout=300"
    [ "$(id -u)" = 0 ] || APT="sudo -n --preserve-env=DEBIAN_FRONTEND $APT"
    export DEBIAN_FRONTEND=noninteractive
    $APT install -y -qq "$tool" >/dev/null || { $APT update -qq && $APT install -y -qq "$tool" >/dev/null; } \
        || { echo "cg_e2e.sh: could not install $tool with apt" >&2; exit 1; }
done
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg-$LABEL.out" "$BIN" --listen 127.0.0.1:$PORT \
    --threads 1 --account a:pw --account b:pw --route 4479=b --stats-interval 0 \
    --metrics-listen 127.0.0.1:$METRICS >"$OUT/cg-$LABEL.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
sleep 1
timeout 60 "$LT" run --addr 127.0.0.1:$PORT --system-id a --password pw --threads 1 --binds 4 \
    --window 64 --bind trx --duration 6s --warmup 1s --receipts 1 --mo-system-id b \
    --mo-password pw --mo-prefix 4479 --mo-binds 4 --out "$OUT/cg-$LABEL-run" >/dev/null 2>&1
curl -s 127.0.0.1:$METRICS/metrics >"$OUT/cg-$LABEL.metrics"
kill -TERM $pid
wait $pid
python3 - "$OUT" "$LABEL" <<'PY'
import sys
out, label = sys.argv[1], sys.argv[2]
ir = None
for line in open(f"{out}/cg-{label}.out"):
    if line.startswith("summary:") or line.startswith("totals:"):
        ir = int(line.split()[1])
ok = 0
for line in open(f"{out}/cg-{label}.metrics"):
    if line.startswith("smsc_submit_ok "):
        ok = int(float(line.split()[1]))
print(f"{label}: Ir {ir} submit_ok {ok} Ir/msg {ir / max(ok, 1):.1f}")
PY
