"""scripts/demo, the README's first command, runs to the end and every step holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "scripts" / "demo"


@pytest.mark.needs_index
@pytest.mark.timeout(600)
def test_demo_passes_the_suite_refuses_every_escape_and_shows_the_events(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [str(DEMO)],
        env={**os.environ, "CORRAL_DEMO_DIR": str(tmp_path)},
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=540, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo: every step behaved as shown" in done.stdout
    assert "passed" in done.stdout
    assert done.stdout.count("corral: sandbox refused: ") == 3
    for kind in ("protected-write", "hidden-read", "network"):
        assert f"kernel refused: {kind}" in done.stdout
    assert done.stdout.count("refused before it ran (exit 126)") == 3
    assert "corral approve " in done.stdout
    assert "NOT AS EXPECTED" not in done.stdout
    assert "ok: every record is in the hash chain" in done.stdout
    assert "altered" in done.stdout  # the changed copy, found at its record
