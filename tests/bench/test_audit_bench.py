"""The audit benchmark runs end to end and reports every figure; none is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "audit.py"


def test_audit_benchmark_reports_appends_verification_and_baselines(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    results = tmp_path / "audit.json"

    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(results)],
        env={**os.environ, "HOME": str(home)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    for figure in ("append, one process", "processes at once", "verify, ",
                   "start /bin/true", "corral run true"):  # fmt: skip
        assert figure in done.stdout
    report = json.loads(results.read_text())
    assert report["one_process"]["median_us"] > 0
    assert report["many_processes"]["appends_per_s"] > 0
    assert report["verify"]["records"] == report["plan"]["verify_records"]
    assert report["verify"]["verify_records_per_s"] > 0
    assert report["shares"]["append_x_spawn_true"] > 0
    assert not results.with_name("audit.json.tmp").exists()
    assert list((home / ".cache" / "corral-bench").iterdir()) == []
