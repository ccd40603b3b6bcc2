#!/usr/bin/env bash
# Load reliability runs against a release build of Parley, with parley-bench as the clients:
#
#   scripts/reliability/load.sh soak [parley-bench soak options]          19,800 connections in 200 rooms, 30 minutes
#   scripts/reliability/load.sh slow-reader [parley-bench options]        3,000 subscribers, 20 of them stalling
#
# The server is pinned to core 0 and the clients to core 1 (taskset); each run gets a fresh server and data directory.
# Both sides need a descriptor per connection: the script raises the soft limit to the hard one. The soak's default
# (200 rooms of 98 subscribers plus a sender each) fits a hard limit of 20,000 with room for the server's own files.
# Options after the scenario go to parley-bench and override the defaults (for example `soak --duration 600`).
# Environment: PARLEY_BENCH_SCRATCH (SwiftPM scratch path, default .build-release), PARLEY_LOAD_PORT (default 18650).
# Output: the bench's table and JSON line, also written to benchmarks/results/<scenario>-<date>.txt.
set -euo pipefail

cd "$(dirname "$0")/../.."
SCENARIO=${1:?"usage: $0 soak|slow-reader [parley-bench options]"}
shift
case "$SCENARIO" in
    soak) DEFAULTS=(--rooms 200 --members 98 --rate 1 --duration 1800 --interval 30 --warm-up 120) ;;
    slow-reader) DEFAULTS=(--subscribers 3000 --slow-readers 20 --rate 20 --padding 440 --duration 60) ;;
    *) echo "unknown scenario $SCENARIO (soak or slow-reader)" >&2; exit 2 ;;
esac

SCRATCH=${PARLEY_BENCH_SCRATCH:-.build-release}
PORT=${PARLEY_LOAD_PORT:-18650}
WORK=$(mktemp -d /tmp/parley-load.XXXXXX)
SERVER_PID=""
trap '[[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < 20000)); then
    echo "need at least 20,000 file descriptors per process (have $(ulimit -n)); raise the hard limit" >&2
    exit 1
fi

swift build -c release --scratch-path "$SCRATCH" --product parley
swift build -c release --scratch-path "$SCRATCH" --product parley-bench
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

export AWS_ACCESS_KEY_ID=AKIDPARLEYLOAD000001
export AWS_SECRET_ACCESS_KEY=parley-load-secret-access-key-00000000001
PARLEY_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID PARLEY_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    PARLEY_QUOTA_CreateChatTokenTPS=1000000 PARLEY_QUOTA_RoomOperationsTPS=1000000 \
    PARLEY_QUOTA_SendMessageRequestsPerSecond=1000000 PARLEY_CONNECTION_REQUEST_RATE=1000 \
    PARLEY_MAX_CONNECTIONS=100000 PARLEY_MAX_ROOMS=100000 LOG_LEVEL=warning \
    taskset -c 0 "$BIN/parley" serve --port "$PORT" --data-dir "$WORK/data" >"$WORK/parley.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null && break
    sleep 0.1
done

mkdir -p benchmarks/results
OUTPUT=benchmarks/results/$SCENARIO-$(date +%F).txt
echo "# scripts/reliability/load.sh $SCENARIO $* (commit $(git rev-parse --short HEAD), $(date -Is))" >"$OUTPUT"
taskset -c 1 "$BIN/parley-bench" "$SCENARIO" --port "$PORT" --server-pid "$SERVER_PID" "${DEFAULTS[@]}" "$@" | tee -a "$OUTPUT"
echo "server log: $(grep -ciE "error|critical" "$WORK/parley.log" || true) error lines, $(grep -ci "warning" "$WORK/parley.log" || true) warnings" \
    | tee -a "$OUTPUT"
if grep -qiE "fatal|crash" "$WORK/parley.log"; then
    echo "the server logged a fatal error:" >&2
    cat "$WORK/parley.log" >&2
    exit 1
fi
echo "written to $OUTPUT"
