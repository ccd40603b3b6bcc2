#!/usr/bin/env bash
# WebSocket protocol compliance: the Autobahn cases 1-10 (kosoku's fuzzing client) against Parley's WebSocket stack.
#
# Parley serves the echo route /_test/echo only with PARLEY_TEST_ECHO_ENDPOINT=1; it is built from the same channel and
# WebSocket handler configuration as the messaging endpoint (frame limits, automatic pings, close timeout, UTF-8 checks).
#
#   scripts/reliability/autobahn.sh [CASE ...]     # default: 1.* 2.* 3.* 4.* 5.* 6.* 7.* 9.* 10.* (Autobahn has no case 8)
#
# Environment: PARLEY_BINARY (default .build/debug/parley, built when missing), KOSOKU (a kosoku executable; default:
# `kosoku` on PATH, else a virtual environment in $KOSOKU_VENV, default /tmp/kosoku-venv, created when missing),
# AUTOBAHN_OUT (report directory, default a temporary one). Exits non-zero when any case is FAILED (or worse).
#
# Parley refuses messages over its 64 KiB frame/message limit (ParleySettings.maximumFrameSize) by closing with 1009,
# as it does on the messaging endpoint. Autobahn's cases 9.1-9.6 send 256 KiB-16 MiB messages and count that close as
# FAILED; this script reports those cases as LIMIT instead, provided the close code was 1009 and the message was over
# the limit. Every other case must be OK, NON-STRICT or INFORMATIONAL.
set -euo pipefail
cd "$(dirname "$0")/../.."

cases=("$@")
if ((${#cases[@]} == 0)); then
    cases=('1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' '9.*' '10.*')
fi

binary="${PARLEY_BINARY:-.build/debug/parley}"
if [[ ! -x "$binary" ]]; then
    swift build --product parley
fi

kosoku="${KOSOKU:-}"
if [[ -z "$kosoku" ]]; then
    if command -v kosoku >/dev/null 2>&1; then
        kosoku="$(command -v kosoku)"
    else
        venv="${KOSOKU_VENV:-/tmp/kosoku-venv}"
        if [[ ! -x "$venv/bin/kosoku" ]]; then
            python3 -m venv "$venv"
            "$venv/bin/pip" install -q --disable-pip-version-check kosoku
        fi
        kosoku="$venv/bin/kosoku"
    fi
fi

work="$(mktemp -d)"
out="${AUTOBAHN_OUT:-$work/reports}"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
env -u PARLEY_S3_DIRECTORY \
    PARLEY_TEST_ECHO_ENDPOINT=1 PARLEY_ACCESS_KEY_ID=AKIDAUTOBAHN PARLEY_SECRET_ACCESS_KEY=autobahn-secret-not-used \
    PARLEY_TEMPLATES_DIR=Templates PARLEY_PUBLIC_DIR=Public PARLEY_BCRYPT_COST=4 \
    "$binary" serve --host 127.0.0.1 --port "$port" --data-dir "$work/data" >"$work/parley.log" 2>&1 &
parley_pid=$!
cleanup() {
    kill "$parley_pid" 2>/dev/null || true
    wait "$parley_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$parley_pid" 2>/dev/null; then
        echo "parley exited before becoming healthy:" >&2
        cat "$work/parley.log" >&2
        exit 2
    fi
    sleep 0.1
done

include=()
for c in "${cases[@]}"; do include+=(-i "$c"); done
started=$SECONDS
"$kosoku" -m fuzzingclient "127.0.0.1:$port/_test/echo" "${include[@]}" -o "$out" >"$work/kosoku.log" 2>&1 || true
elapsed=$((SECONDS - started))

if ! kill -0 "$parley_pid" 2>/dev/null; then
    echo "parley died during the run:" >&2
    tail -50 "$work/parley.log" >&2
    exit 2
fi

python3 - "$out/index.json" "$elapsed" <<'PY'
import json, os, sys
from collections import Counter

# Autobahn's verdict per case: the behaviour, unless the behaviour is OK and the closing handshake is not.
GOOD = {"OK", "NON-STRICT", "INFORMATIONAL", "LIMIT"}
# Cases whose messages are over Parley's 64 KiB message limit: 9.1.2-9.1.6 and 9.2.2-9.2.6 (256 KiB-16 MiB),
# 9.3.* and 9.4.* (4 MiB fragmented), 9.5.* and 9.6.* (1 MiB in chops).
OVER_LIMIT = {f"9.{g}.{i}" for g in (1, 2) for i in range(2, 7)} | {f"9.{g}.{i}" for g in (3, 4) for i in range(1, 10)}
OVER_LIMIT |= {f"9.{g}.{i}" for g in (5, 6) for i in range(1, 7)}
index = json.load(open(sys.argv[1]))
verdicts: dict[str, str] = {}
details: dict[str, str] = {}
for cases in index.values():
    for case, result in cases.items():
        behavior, close = result["behavior"], result["behaviorClose"]
        verdict = behavior if behavior != "OK" or close in GOOD else close
        if verdict in ("WRONG CODE", "UNCLEAN"):
            verdict = "FAILED"
        report = json.load(open(os.path.join(os.path.dirname(sys.argv[1]), result["reportfile"])))
        remote_close = report.get("remoteCloseCode")
        if verdict not in GOOD and remote_close == 1009 and case in OVER_LIMIT:
            verdict = "LIMIT"
        verdicts[case] = verdict
        details[case] = f"behavior={behavior} behaviorClose={close} server close code {remote_close}"
counts = Counter(verdicts.values())
key = lambda c: [int(p) for p in c.split(".")]
print(f"Autobahn cases run: {len(verdicts)} in {sys.argv[2]} s")
for status in sorted(counts):
    print(f"  {status}: {counts[status]}")
bad = sorted((c for c, v in verdicts.items() if v not in GOOD), key=key)
limited = sorted((c for c, v in verdicts.items() if v == "LIMIT"), key=key)
if limited:
    print(f"  (LIMIT: closed with 1009, message over the 64 KiB limit: {', '.join(limited)})")
for case in bad:
    print(f"  {case}: {verdicts[case]} ({details[case]})")
if not verdicts:
    print("no cases ran")
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
