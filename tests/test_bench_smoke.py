"""The benchmark runs end to end and reports every cell; timings are never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
MODES = {"bare", "bwrap", "corral-cli", "corral-lib"}
COMMANDS = {"true", "python3 -c pass", "git status"}


def test_benchmark_prints_its_table_and_writes_every_cell_to_json(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    results = tmp_path / "results.json"

    done = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "2", "--warmup", "1",
         "--json", str(results)],
        env={**os.environ, "HOME": str(home)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "median ms" in done.stdout
    assert "x bwrap" in done.stdout
    for mode in MODES:
        assert mode in done.stdout
    report = json.loads(results.read_text())
    cells = {(cell["mode"], cell["command"]) for cell in report["results"]}
    assert cells == {(mode, command) for mode in MODES for command in COMMANDS}
    for cell in report["results"]:
        assert len(cell["samples_ms"]) == 2
        assert cell["median_ms"] > 0
    assert report["machine"]["kernel"]
    assert not results.with_name("results.json.tmp").exists()
    assert list((home / ".cache" / "corral-bench").iterdir()) == []


def test_benchmark_refuses_a_repeat_count_below_one() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert "--repeat must be at least 1" in done.stderr


DECISIONS = BENCH.parent / "decisions.py"


def test_decision_benchmark_reports_every_step_against_its_baseline(
    tmp_path: Path,
) -> None:
    results = tmp_path / "decisions.json"

    done = subprocess.run(
        [sys.executable, str(DECISIONS), "--rounds", "2", "--json", str(results)],
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "x baseline" in done.stdout
    report = json.loads(results.read_text())
    steps = [r["step"] for r in report["results"]]
    assert steps[0] == "shlex.split (baseline)"
    assert "decide, as corral run" in steps
    for result in report["results"]:
        assert len(result["samples_us"]) == 2
        assert result["commands_per_second"] > 0


NETWORK = BENCH.parent / "network.py"


def test_network_benchmark_compares_the_proxy_with_direct_connections(
    tmp_path: Path,
) -> None:
    results = tmp_path / "network.json"

    done = subprocess.run(
        [sys.executable, str(NETWORK), "--quick", "--json", str(results)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "x direct" in done.stdout
    report = json.loads(results.read_text())
    paths = [row["path"] for row in report["throughput"]]
    assert paths[0] == "direct"
    assert len(paths) == 3
    for row in report["throughput"]:
        assert row["mib_per_s"] > 0


AUDIT = BENCH.parent / "audit.py"


def test_audit_benchmark_reports_appends_verification_and_baselines(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    results = tmp_path / "audit.json"

    done = subprocess.run(
        [sys.executable, str(AUDIT), "--quick", "--json", str(results)],
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
