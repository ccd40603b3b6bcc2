#!/usr/bin/env bash
# Measures Parley and nginx+nchan side by side with parley-bench, and writes benchmarks/results/<date>.md.
#
#   benchmarks/run.sh            the full run (about 15 minutes)
#   benchmarks/run.sh --quick    tiny sizes, a minute: checks that the whole pipeline works
#
# The server under test is pinned to core 0 and the load generator to core 1 (taskset). Each scenario gets fresh servers.
# Environment: PARLEY_BENCH_SCRATCH (SwiftPM scratch path, default .build), PARLEY_BENCH_PORT / NCHAN_PORT.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=false
[[ "${1:-}" == "--quick" ]] && QUICK=true

SCRATCH=${PARLEY_BENCH_SCRATCH:-.build}
PARLEY_PORT=${PARLEY_BENCH_PORT:-18600}
NCHAN_PORT=${NCHAN_PORT:-18680}
SERVER_CORE=0
LOAD_CORE=1
WORK=$(mktemp -d /tmp/parley-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
trap 'stop_servers; rm -rf "$WORK"' EXIT

need_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if [[ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]]; then
    echo "== installing nginx and nchan"
    need_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -q nginx-light libnginx-mod-nchan
fi

echo "== building Parley in release mode"
swift build -c release --scratch-path "$SCRATCH" --product parley
swift build -c release --scratch-path "$SCRATCH" --product parley-bench
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

export AWS_ACCESS_KEY_ID=AKIDPARLEYBENCH00001
export AWS_SECRET_ACCESS_KEY=parley-bench-secret-access-key-0000000001

PARLEY_PID=""
NGINX_MASTER=""

start_parley() {
    rm -rf "$WORK/parley-data"
    PARLEY_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID PARLEY_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
        PARLEY_QUOTA_CreateChatTokenTPS=1000000 PARLEY_QUOTA_RoomOperationsTPS=1000000 \
        PARLEY_QUOTA_SendMessageRequestsPerSecond=1000000 PARLEY_CONNECTION_REQUEST_RATE=1000 \
        PARLEY_MAX_CONNECTIONS=100000 PARLEY_MAX_ROOMS=100000 LOG_LEVEL=warning \
        taskset -c $SERVER_CORE "$BIN/parley" serve --port "$PARLEY_PORT" --data-dir "$WORK/parley-data" \
        >"$WORK/parley.log" 2>&1 &
    PARLEY_PID=$!
    for _ in $(seq 100); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PARLEY_PORT/health', timeout=1)" \
            2>/dev/null && return 0
        sleep 0.1
    done
    echo "Parley did not start:" >&2
    cat "$WORK/parley.log" >&2
    exit 1
}

start_nchan() {
    mkdir -p "$WORK/nginx/logs"
    sed -e "s|@ROOT@|$WORK/nginx|g" -e "s|@PORT@|$NCHAN_PORT|g" -e "s|@CONNECTIONS@|100000|g" \
        benchmarks/nchan.conf >"$WORK/nginx/nginx.conf"
    taskset -c $SERVER_CORE nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
    for _ in $(seq 50); do [[ -s "$WORK/nginx/nginx.pid" ]] && break; sleep 0.1; done
    NGINX_MASTER=$(cat "$WORK/nginx/nginx.pid")
    for _ in $(seq 50); do pgrep -P "$NGINX_MASTER" >/dev/null && break; sleep 0.1; done
}

nchan_worker() { pgrep -P "$NGINX_MASTER" | head -1; }

stop_servers() {
    if [[ -n "$PARLEY_PID" ]]; then kill "$PARLEY_PID" 2>/dev/null || true; wait "$PARLEY_PID" 2>/dev/null || true; PARLEY_PID=""; fi
    if [[ -n "$NGINX_MASTER" ]]; then kill -QUIT "$NGINX_MASTER" 2>/dev/null || true; sleep 0.5; NGINX_MASTER=""; fi
}

# bench <target> <scenario> [options…]: runs one scenario against a fresh server of that target.
bench() {
    local target=$1 scenario=$2
    shift 2
    local port pid
    if [[ $target == parley ]]; then
        start_parley
        port=$PARLEY_PORT
        pid=$PARLEY_PID
    else
        start_nchan
        port=$NCHAN_PORT
        pid=$(nchan_worker)
    fi
    echo "== $scenario · $target"
    taskset -c $LOAD_CORE "$BIN/parley-bench" "$scenario" --target "$target" --port "$port" --server-pid "$pid" "$@" |
        tee "$WORK/out.txt"
    grep '^{' "$WORK/out.txt" >>"$RESULTS" || true
    stop_servers
}

if $QUICK; then
    FANOUT=(--subscribers 200 --rate 10 --duration 2)
    SATURATE=(--subscribers 500 --rates 10 50 100 --duration 1)
    ROOMS=(--rooms 5 --members 40 --rate 5 --duration 2)
    CONNECT=(--connections 500)
    IDLE=(--connections 500 --settle 1)
    TOKENS=(--requests 1000)
else
    FANOUT=(--subscribers 10000 --rate 10 --duration 20)
    SATURATE=(--subscribers 10000 --duration 5)
    ROOMS=(--rooms 100 --members 100 --rate 5 --duration 20)
    CONNECT=(--connections 10000)
    IDLE=(--connections 10000)
    TOKENS=(--requests 20000)
fi

for target in parley nchan; do
    bench $target fanout "${FANOUT[@]}"
    bench $target saturate "${SATURATE[@]}"
    bench $target rooms "${ROOMS[@]}"
    bench $target connect "${CONNECT[@]}"
    bench $target idle "${IDLE[@]}"
done
bench parley tokens "${TOKENS[@]}"

mkdir -p benchmarks/results
OUTPUT=benchmarks/results/$(date +%Y-%m-%d)$($QUICK && echo -quick || true).md
python3 benchmarks/tabulate.py "$RESULTS" --quick "$QUICK" --commit "$(git rev-parse --short HEAD)" >"$OUTPUT"
echo "== wrote $OUTPUT"
cat "$OUTPUT"
