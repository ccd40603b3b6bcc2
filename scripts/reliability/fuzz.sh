#!/usr/bin/env bash
# libFuzzer runs of the fuzz targets under Fuzz/ (see Fuzz/README.md): the client-frame decoder (FuzzClientFrames), the
# control plane's request decoding and validation (FuzzControlPlane) and the SigV4 verifier (FuzzSigV4).
#
#   scripts/reliability/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]    # default: 60 seconds, every target
#
# Builds the targets with `-sanitize=fuzzer,address -DFUZZING` into .build-fuzz (a scratch path of its own, so the normal
# .build is untouched), runs each on its committed corpus (Fuzz/corpus/<target>, read-only) plus a working corpus that
# collects what it finds, and prints, per target, libFuzzer's final figures: inputs executed, corpus size, coverage
# (cov: edges, ft: features) and exec/s.
#
# Environment:
#   FUZZ_RUNS=N       stop each target after N inputs instead of after SECONDS_PER_TARGET
#   FUZZ_MERGE=1      afterwards, merge (-merge=1) what the run found into Fuzz/corpus/<target>: only inputs that add
#                     coverage are kept; the committed corpus is meant to stay at its seeds plus at most ~200 files
#   FUZZ_WORK=DIR     working corpora, crash artifacts and logs (default .build-fuzz/work)
#   FUZZ_FLAGS="..."  more libFuzzer flags (e.g. -max_len=2048 or -only_ascii=1)
#   FUZZ_CONFIG=release  build optimised (still instrumented and sanitized): several times the inputs per second,
#                     at the price of a longer first build (default debug)
#
# A crash, a failed invariant (fatalError in the target) or an ASan report stops that target's run; its reproducer is
# written to $FUZZ_WORK/<target>/artifacts/ and the script exits 1 after printing the table. Reproduce with
#   .build-fuzz/debug/<target> <artifact>          (sanitizer build; .build-fuzz/release with FUZZ_CONFIG=release)  or
#   swift run <target> <artifact>                  (normal build: replays the file without libFuzzer).
#
# -detect_leaks=0: the Swift runtime's metadata caches and task allocations look like leaks to LeakSanitizer, and leak
# checks after every input cost more than the input itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-60}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(FuzzClientFrames FuzzControlPlane FuzzSigV4)
fi
work="${FUZZ_WORK:-.build-fuzz/work}"
config="${FUZZ_CONFIG:-debug}"
build_flags=(-c "$config" --scratch-path .build-fuzz)
build_flags+=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING)

mkdir -p "$work"
for target in "${targets[@]}"; do
    echo "== building $target" >&2
    if ! swift build "${build_flags[@]}" --product "$target" >"$work/build-$target.log" 2>&1; then
        cat "$work/build-$target.log" >&2
        exit 1
    fi
    # The sanitizer link warns about every ASan helper symbol; the rest is worth seeing.
    grep -Ev "Cannot export local symbol|unhandled; explicitly declare|CMakeLists.txt" "$work/build-$target.log" >&2 || true
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=5:quarantine_size_mb=64}"
# Swift's own crash backtracer and ASan get in each other's way; libFuzzer and ASan print the stack.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
status=0
rows=()
row='%-18s %-8s %12s %10s %8s %8s %8s'

for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    limit=(-max_total_time="$seconds")
    [[ -n "${FUZZ_RUNS:-}" ]] && limit=(-runs="$FUZZ_RUNS")
    echo "== fuzzing $target (${limit[*]})" >&2
    set +e
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    ".build-fuzz/$config/$target" "${limit[@]}" -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        ${FUZZ_FLAGS:-} "$dir/corpus" "Fuzz/corpus/$target" >"$dir/fuzz.log" 2>&1
    code=$?
    set -e
    final="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/fuzz.log" | tail -1 || true)"
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")"
    corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$final")"
    committed="$(find "Fuzz/corpus/$target" -type f | wc -l | tr -d ' ')"
    if ((code != 0)) || [[ -z "$final" ]]; then
        status=1
        rows+=("$(printf "$row  see %s" "$target" CRASH "${runs:-?}" "${corp:-?}" "${cov:-?}" "${ft:-?}" "${rate:-?}" "$dir/fuzz.log")")
        grep -E 'ERROR|Fatal error|SUMMARY|Test unit written' "$dir/fuzz.log" | head -5 >&2 || true
        continue
    fi
    if [[ -n "${FUZZ_MERGE:-}" ]]; then
        ".build-fuzz/$config/$target" -merge=1 -detect_leaks=0 "Fuzz/corpus/$target" "$dir/corpus" >"$dir/merge.log" 2>&1
        committed="$(find "Fuzz/corpus/$target" -type f | wc -l | tr -d ' ')"
    fi
    rows+=("$(printf "$row  (committed corpus: %s files)" "$target" ok "$runs" "$corp" "$cov" "$ft" "$rate" "$committed")")
done

printf "$row\n" target result inputs corpus cov ft exec/s
printf '%s\n' "${rows[@]}"
echo "(corpus: libFuzzer's corpus at the end, inputs/bytes; cov: coverage edges; ft: features)"
exit "$status"
