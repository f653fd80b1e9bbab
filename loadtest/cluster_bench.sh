#!/usr/bin/env bash
# The cluster benchmark of docs/performance.md ("The cluster"): a
# nats-server with JetStream (file storage) on a temporary directory, smsc
# nodes on loopback pinned to core 0, the load test on core 1.
#   SCEN=local  same binary without --nats, then with --nats, receivers all
#               local (TRX binds), closed loop; twice, alternating
#   SCEN=rates  TX binds on node 1, RX binds on node 2 (loadtest --rx-addr):
#               every receipt crosses nodes; open loop at each of RATES
# Results (summary JSON per run, node logs, CPU) go to $OUT.
set -u
T=${T:-${CARGO_TARGET_DIR:-target}}
SMSC=${SMSC:-$T/release/smsc}
LT=$T/release/loadtest
NATS=${NATS_SERVER:-$T/tmp/interop/nats/venv/bin/nats-server}
OUT=${OUT:-results/cluster}
mkdir -p "$OUT"
DIR=$(mktemp -d)
PIDS=()
# Nodes are not this shell's children (started in $(...)): a stopped one is
# waited for by its PID, or a node still draining could reach the next
# run's nats-server on the same port and publish into it.
stop() { kill "$@" 2>/dev/null; for p in "$@"; do while [ -e /proc/$p ]; do sleep 0.1; done; done; }
NODES=()
cleanup() { stop "${NODES[@]}"; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
"$NATS" -a 127.0.0.1 -p 14222 -js -sd "$DIR/nats" 2>"$DIR/nats.log" & PIDS+=($!)
NATS_PID=$!
sleep 1
ACC="--account movider:1111"
start_node() { # name port extra...
  local name=$1 port=$2; shift 2
  "$SMSC" --listen 127.0.0.1:$port --threads 1 --cores 0 --stats-interval 0 "$@" >/dev/null 2>"$OUT/$name.log" &
  echo $!
}
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
run() { # label args...
  local label=$1; shift
  "$LT" run --cores 1 --duration ${DUR:-8s} --warmup 2s --json "$@" --out "$OUT/$label" >"$OUT/$label.json" 2>"$OUT/$label.err"
}
case ${SCEN:-local} in
local)
  for r in 1 2; do
    P=$(start_node plain$r 12775 $ACC); sleep 1.5
    run local-plain-$r --addr 127.0.0.1:12775 --binds 4 --window 64 --receipts 1 --server-pid $P
    stop $P
    P=$(start_node nats$r 12775 $ACC --nats nats://127.0.0.1:14222 --node-id 1); sleep 2.5
    run local-nats-$r --addr 127.0.0.1:12775 --binds 4 --window 64 --receipts 1 --server-pid $P
    stop $P
  done ;;
rates)
  P1=$(start_node n1 12775 $ACC --nats nats://127.0.0.1:14222 --node-id 1 --admin-listen 127.0.0.1:13775)
  P2=$(start_node n2 12776 $ACC --nats nats://127.0.0.1:14222 --node-id 2 --admin-listen 127.0.0.1:13776)
  NODES=($P1 $P2)
  sleep 3
  for R in ${RATES:-5000 50000 100000}; do
    c0=$(ticks $P1) d0=$(ticks $P2) n0=$(ticks $NATS_PID)
    run cross-$R --addr 127.0.0.1:12775 --rx-addr 127.0.0.1:12776 --bind tx --binds 4 --window 64 \
      --receipts 1 --rate $R --receipt-grace 10s
    echo "CPU in 1/100 s over the run (warm-up and grace included): node1 $(( $(ticks $P1) - c0 )) node2 $(( $(ticks $P2) - d0 )) nats $(( $(ticks $NATS_PID) - n0 ))" | tee "$OUT/cross-$R.cpu"
  done
  curl -s 127.0.0.1:13775/metrics | grep -E "^smsc_cluster" >"$OUT/n1.metrics"
  curl -s 127.0.0.1:13776/metrics | grep -E "^smsc_cluster" >"$OUT/n2.metrics"
  stop $P1 $P2 ;;
esac
