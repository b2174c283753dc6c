#!/usr/bin/env bash
# What one server copy needs, for sizing its container: time from start to ready, CPU spent
# starting, resident memory (RSS) at ready, under a single-image /predict load and after one
# request of MAX_IMAGES images, and the CPU cores the load keeps busy. Linux (/proc), loopback only.
#
#   bash deploy/measure-copy.sh [SECONDS=10] [CONNECTIONS=4]
#   bash scripts/with-node.sh bash deploy/measure-copy.sh     # on Node 24, as the container runs
set -euo pipefail
DURATION="${1:-10}"
CONNECTIONS="${2:-4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NODE="${NODE:-node}"
IMAGES="${MAX_IMAGES:-1000}"
HZ="$(getconf CLK_TCK)"
PORT="$("$NODE" -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT

# One slanted stroke as a 784-value CSV row, and MAX_IMAGES of them.
"$NODE" -e "
const p = new Array(784).fill(0);
for (let y = 4; y < 24; y++) { const x = 14 + Math.round((14 - y) / 5); p[y * 28 + x - 1] = 160; p[y * 28 + x] = 255; p[y * 28 + x + 1] = 160; }
const row = p.join(',') + '\n';
require('node:fs').writeFileSync('$DIR/one.csv', row);
require('node:fs').writeFileSync('$DIR/many.csv', row.repeat($IMAGES));
"

ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$PID/status"; }
mib() { echo "$(( $1 / 1024 )) MiB"; }

start_ns="$(date +%s%N)"
PORT="$PORT" HOST=127.0.0.1 LOG_LEVEL=warn "$NODE" --import tsx apps/server/src/main.ts &
PID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready"; do
  kill -0 "$PID" 2>/dev/null || { echo "the server exited before it was ready" >&2; exit 1; }
  sleep 0.1
done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
start_ticks="$(ticks)"
ready_rss="$(kib VmRSS)"

load_ticks="$(ticks)"
load_ns="$(date +%s%N)"
requests="$(node_modules/.bin/autocannon -j -c "$CONNECTIONS" -d "$DURATION" -m POST -H content-type=text/csv -i "$DIR/one.csv" \
  "http://127.0.0.1:$PORT/predict" 2>/dev/null | "$NODE" -e "
let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
  const r = JSON.parse(s);
  console.log([r.requests.total, r.requests.average.toFixed(0), r.latency.p50, r.latency.p99, r.errors + r.non2xx].join(' '));
});")"
load_s="$(( ($(date +%s%N) - load_ns) / 1000000 ))"
load_cores="$(awk -v t="$(( $(ticks) - load_ticks ))" -v hz="$HZ" -v ms="$load_s" 'BEGIN { printf "%.2f", t / hz / (ms / 1000) }')"
load_rss="$(kib VmRSS)"
read -r total rate p50 p99 failed <<<"$requests"

many_ns="$(date +%s%N)"
many_status="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: text/csv' --data-binary "@$DIR/many.csv" "http://127.0.0.1:$PORT/predict")"
many_ms=$(( ($(date +%s%N) - many_ns) / 1000000 ))

echo "one copy, $("$NODE" -v), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before the load"
echo "| measure | value |"
echo "|---|---|"
echo "| start to /health/ready | $(awk -v ms="$ready_ms" 'BEGIN { printf "%.1f", ms / 1000 }') s |"
echo "| CPU spent starting | $(awk -v t="$start_ticks" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }') s |"
echo "| RSS at ready | $(mib "$ready_rss") |"
echo "| single-image load, $CONNECTIONS connections, ${DURATION} s | $total requests, $rate req/s, p50 $p50 ms, p99 $p99 ms, $failed failed |"
echo "| CPU cores busy under that load | $load_cores |"
echo "| RSS after that load | $(mib "$load_rss") |"
echo "| one request of $IMAGES images | HTTP $many_status in $many_ms ms |"
echo "| peak RSS (VmHWM) | $(mib "$(kib VmHWM)") |"
