#!/usr/bin/env bash
# A class too big for one server: N replicas of the app behind HAProxy, on one machine.
#
#   scripts/cluster.sh 2            # 2 replicas, the class opens http://<this machine>:8500
#   PYLAB_CLUSTER_PORT=80 PYLAB_CLUSTER_BIND=0.0.0.0 scripts/cluster.sh 4
#
# Each replica is `make run`'s server on its own port (8601, 8602, ... on 127.0.0.1 only), in shared mode
# (PYLAB_SHARED=1: folder boxes read only the data folders; see core/shared_server.py), with its own log in
# test-output/cluster/. HAProxy (Debian's package; installed here when missing and this user may apt-get) sends
# each new browser to the replica with the fewest connections and sets a cookie, PYLAB_REPLICA, that keeps the
# browser there: a Streamlit session (its websocket, its uploads, its training runs) lives in one replica's
# memory, so every request of a tab must reach the same one. Replicas that stop answering /_stcore/health are
# taken out of the rotation. Ctrl-C stops HAProxy and every replica.
set -euo pipefail
cd "$(dirname "$0")/.."

replicas="${1:-2}"
if ! [[ "$replicas" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/cluster.sh N   (N replicas, N >= 1)" >&2
  exit 2
fi
port="${PYLAB_CLUSTER_PORT:-8500}"
bind="${PYLAB_CLUSTER_BIND:-127.0.0.1}"
first="${PYLAB_CLUSTER_FIRST_PORT:-8601}"

scripts/setup.sh
if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's haproxy ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    echo "haproxy is not installed: sudo apt-get install haproxy, then run this again" >&2
    exit 1
  fi
fi

logs=test-output/cluster
mkdir -p "$logs"
config="$logs/haproxy.cfg"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

servers=""
for i in $(seq 1 "$replicas"); do
  p=$((first + i - 1))
  PYLAB_SHARED="${PYLAB_SHARED:-1}" .venv/bin/python -m streamlit run app.py --server.port "$p" \
    --server.address 127.0.0.1 --server.headless true >"$logs/replica-$i.log" 2>&1 &
  pids+=("$!")
  servers+="    server r$i 127.0.0.1:$p check cookie r$i"$'\n'
done

cat >"$config" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    option forwardfor
frontend pylab
    bind $bind:$port
    default_backend replicas
backend replicas
    balance leastconn
    cookie PYLAB_REPLICA insert indirect nocache httponly
    option httpchk GET /_stcore/health
$servers
EOF

echo "Starting $replicas replicas (ports $first-$((first + replicas - 1))) ..."
for i in $(seq 1 "$replicas"); do
  p=$((first + i - 1))
  for _ in $(seq 1 240); do
    if curl -fs "http://127.0.0.1:$p/_stcore/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
      echo "replica $i stopped; its log: $logs/replica-$i.log" >&2
      exit 1
    fi
    sleep 0.5
  done
done
haproxy -c -q -f "$config"
echo "The class opens http://$bind:$port (HAProxy config: $config; replica logs: $logs/replica-*.log)."
haproxy -db -f "$config" &
pids+=("$!")
wait -n "${pids[@]}"
