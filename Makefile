# Daily tasks. `make test` is what CI runs (through .ci/run).
.PHONY: run test unit conformance format lint

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
	swift format format --in-place --recursive Sources Tests Package.swift

lint:
	swift format lint --strict --recursive Sources Tests Package.swift
