"""Regression replay of the committed fuzz corpora (Fuzz/corpus/<target>/) through the normally built fuzz targets.

Built without `-DFUZZING` (no sanitizer, no libFuzzer), each target in Fuzz/ is a small program that runs every file it
is given through the same code and invariants as its libFuzzer entry point; a crash or a broken invariant ends it with a
non-zero status. The sanitizer build and the long runs are scripts/reliability/fuzz.sh's, not CI's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from parley_support import REPO_ROOT

TARGETS = ["FuzzClientFrames", "FuzzControlPlane", "FuzzSigV4"]
REPLAY_TIMEOUT_S = 300


@pytest.mark.parametrize("target", TARGETS)
def test_committed_corpus_replays_cleanly(target: str, parley_binary: Path) -> None:
    corpus = REPO_ROOT / "Fuzz" / "corpus" / target
    files = [path for path in corpus.rglob("*") if path.is_file() and not path.name.startswith(".")]
    assert len(files) >= 5, f"{corpus} should hold the target's seed inputs"

    binary = parley_binary.parent / target
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", target], cwd=REPO_ROOT, check=True, timeout=3600)
    assert binary.is_file() and os.access(binary, os.X_OK), f"{binary} is not an executable"

    proc = subprocess.run([str(binary), str(corpus)], capture_output=True, text=True, timeout=REPLAY_TIMEOUT_S)
    assert proc.returncode == 0, f"{target} failed on its corpus:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert f"replayed {len(files)} inputs" in proc.stdout
