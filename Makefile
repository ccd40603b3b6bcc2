# Daily tasks. `make test` is what CI runs (through .ci/run).
.PHONY: run test unit conformance format lint bench bench-quick crash-cycles autobahn fuzz soak slow-reader faults disk-full hostile-connections

run:
	swift run parley

test:
	scripts/test

unit:
	swift test

conformance:
	swift build --product parley
	python3 -m pytest Tests/conformance -q

format:
	swift format format --in-place --recursive Sources Tests Fuzz Package.swift

lint:
	swift format lint --strict --recursive Sources Tests Fuzz Package.swift

# Parley against nginx+nchan (BENCHMARKS.md); bench-quick checks the pipeline in a minute.
bench:
	benchmarks/run.sh

bench-quick:
	benchmarks/run.sh --quick

# RELIABILITY.md: the nightly-style runs (CI runs short versions).
crash-cycles:
	swift build --product parley
	python3 scripts/reliability/crash_cycles.py --cycles 50

autobahn:
	scripts/reliability/autobahn.sh

fuzz:
	scripts/reliability/fuzz.sh 600

soak:
	scripts/reliability/load.sh soak

slow-reader:
	scripts/reliability/load.sh slow-reader

faults:
	swift build --product parley
	python3 scripts/reliability/faults.py

disk-full:
	swift build --product parley
	python3 scripts/reliability/disk_full.py

hostile-connections:
	swift build --product parley
	python3 scripts/reliability/hostile_connections.py
