"""The benchmark runs end to end and reports every figure; it asserts no timing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
WAYS = {"bare", "bwrap", "corral-cli", "corral-lib", "corral-lib-prestart"}
PEERS = {"codex", "codex-native", "srt"}
COMMANDS = {"true", "python3 script.py", "git status"}
SECTIONS = {"per-command", "decisions", "proxy", "audit"}


def run_bench(
    tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "CORRAL_BENCH_CACHE": str(tmp_path / "peers"),
    }
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done, home


def test_a_quick_run_measures_every_section_and_names_each_missing_peer(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.json"

    done, home = run_bench(
        tmp_path, "--quick", "--peers", "cached", "--json", str(results)
    )

    assert done.returncode == 0, done.stderr
    for heading in (
        "median ms",
        "x bwrap",
        "x codex",
        "x srt",
        "peak RSS",
        "decisions/s",
        "MiB/s",
        "appends/s",
    ):
        assert heading in done.stdout
    report = json.loads(results.read_text())
    figures = report["figures"]
    assert {f["section"] for f in figures} == SECTIONS
    walls = {f["label"] for f in figures if f["id"].endswith("/wall")}
    assert walls == {f"{c}: {w}" for c in COMMANDS for w in WAYS}
    for figure in figures:
        assert figure["unit"]
        assert figure["median"] > 0
        assert set(figure["spread"]) == {"p10", "p90", "min", "max"}
        assert figure["runs"] >= 1
    cli = next(f for f in figures if f["id"] == "per-command/true/corral-cli/wall")
    assert {"bare", "bwrap", "corral-lib"} <= set(cli["peers"])
    assert set(cli["ratios"]) >= {"bare", "bwrap"}
    # Nothing was installed, so every peer is reported, for every command, with how
    # to get it: missing is said, never skipped.
    missing = {(m["label"], m["id"].split("/")[-1]) for m in report["missing"]}
    assert {way for _, way in missing} == PEERS
    assert len(missing) == len(PEERS) * len(COMMANDS)
    for entry in report["missing"]:
        assert "--peers install" in entry["missing"]
    assert set(report["peers"]) == PEERS
    assert "missing" in done.stdout
    assert report["machine"]["kernel"]
    assert report["machine"]["bubblewrap"]
    assert not results.with_name("results.json.tmp").exists()
    assert list((home / ".cache" / "corral-bench").iterdir()) == []


def test_a_quick_run_writes_no_results_unless_asked(tmp_path: Path) -> None:
    done, _ = run_bench(tmp_path, "--quick", "--peers", "none", "--only", "decisions")

    assert done.returncode == 0, done.stderr
    assert "decide, as corral run" in done.stdout
    assert "written to" not in done.stdout


def test_the_benchmark_refuses_a_repeat_count_below_one(tmp_path: Path) -> None:
    done, _ = run_bench(tmp_path, "--repeat", "0")

    assert done.returncode == 2
    assert "--repeat must be at least 1" in done.stderr


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm installs the peers")
@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="fetches some 430 MiB of peers: once per test run, the root pass, is "
    "enough; the unprivileged pass measures the benchmark without them",
)
def test_the_peers_are_installed_on_demand_and_measured_beside_corral(
    tmp_path: Path,
) -> None:
    done, _ = run_bench(
        tmp_path,
        "--quick",
        "--peers",
        "install",
        "--only",
        "per-command",
        "--json",
        str(tmp_path / "r.json"),
    )

    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    measured = {f["id"].split("/")[2] for f in report["figures"]}
    # srt also needs ripgrep and socat, which come from the machine's Debian
    # packages when it has none of its own.
    can_unpack = shutil.which("apt-get") is not None
    expected = PEERS if can_unpack else PEERS - {"srt"}
    assert expected <= measured, report["missing"]
    for way in expected:
        assert report["peers"][way]["version"]
    cli = next(
        f for f in report["figures"] if f["id"] == "per-command/true/corral-cli/wall"
    )
    assert set(cli["ratios"]) >= expected
    cache = tmp_path / "peers"
    assert cache.is_dir()
    assert not (Path(__file__).resolve().parent.parent / "node_modules").exists()


def test_a_results_file_that_cannot_be_written_is_refused_before_measuring(
    tmp_path: Path,
) -> None:
    for n, target in enumerate((tmp_path, tmp_path / "no-such-dir" / "r.json")):
        (tmp_path / str(n)).mkdir()
        done, _ = run_bench(tmp_path / str(n), "--json", str(target))

        assert done.returncode == 2
        assert "name a file in an existing directory" in done.stderr
