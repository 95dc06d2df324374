"""Measure what the chained event log costs: appends, verifying, its share of a run.

In one run: appends from one process, then from several processes at once;
`verify_log` over a large log (rotated, as a long-used one is); the exporter's
catch-up read; and, as baselines measured alongside, starting /bin/true and
``corral run true`` (whose own records are counted).  Nothing is asserted.
``bench/run.py`` runs it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _figures import Figure, Result
from _scratch import remove_tree
from _scratch import scratch as make_scratch

from corral.audit._log import EventLog
from corral.audit._read import entries, records_after
from corral.audit._verify import verify_log

SECTION = "audit"
FULL = {
    "appends": 20000,
    "processes": 4,
    "appends_each": 5000,
    "verify_records": 200000,
    "verify_rounds": 3,
    "spawns": 200,
    "corral_runs": 20,
}
QUICK = {
    "appends": 300,
    "processes": 2,
    "appends_each": 100,
    "verify_records": 3000,
    "verify_rounds": 1,
    "spawns": 5,
    "corral_runs": 1,
}
_WARMUP = 3
# A record the size and shape of a command.started one.
RECORD: dict[str, object] = {
    "event": "command.started",
    "id": "0123456789abcdef",
    "run": "fedcba9876543210",
    "time": "2026-12-04T13:57:03.123Z",
    "session": "sid:4242:1733320000",
    "agent": "bench",
    "user": "bench",
    "uid": 1000,
    "host": "bench-host",
    "pid": 4242,
    "argv": ["git", "status", "--short"],
    "cwd": "/home/bench/src/project",
    "sandbox": {"mode": "workspace-write", "network": "offline"},
}

_WRITER = """
import sys, time
from pathlib import Path
from corral.audit._log import EventLog
state, count = Path(sys.argv[1]), int(sys.argv[2])
record = {"event": "bench.appended", "pad": "x" * 240}
sys.stdin.read()  # every writer starts at once
for n in range(count):
    EventLog(state).append({**record, "n": n})
"""


def time_each(step: Callable[[], object], count: int) -> list[float]:
    """Microseconds each of `count` calls of `step` took, after a warm-up."""
    for _ in range(_WARMUP):
        step()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        step()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def one_process(state: Path, count: int) -> dict[str, object]:
    """Appends from this process, each through a fresh EventLog as corral does."""
    samples = time_each(lambda: EventLog(state).append(RECORD), count)
    return {
        "appends": count,
        "samples_us": samples,
    }


def many_processes(state: Path, processes: int, each: int) -> dict[str, object]:
    """Appends from `processes` processes released at once; wall time to the last."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(state), str(each)],
            stdin=subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    time.sleep(1.0)  # every writer has imported corral and waits on its stdin
    started = time.perf_counter()
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.close()
    for writer in writers:
        if writer.wait() != 0:
            raise SystemExit("bench: a writer process failed")
    elapsed = time.perf_counter() - started
    total = processes * each
    return {
        "processes": processes,
        "appends": total,
        "appends_per_s": round(total / elapsed),
        "us_per_append": round(elapsed * 1e6 / total, 1),
    }


def verification(state: Path, count: int, rounds: int) -> dict[str, object]:
    """Build a log of `count` records, then time verify_log and reading it."""
    log = EventLog(state)
    for n in range(count):
        log.append({**RECORD, "n": n})
    size = sum(path.stat().st_size for path in log.files())
    walks = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = verify_log(state)
        walks.append(time.perf_counter() - started)
    if not result.ok or result.records != count:
        raise SystemExit(f"bench: the log did not verify: {result.breaks[:3]}")
    started = time.perf_counter()
    read = sum(1 for _ in entries(state))
    reading = time.perf_counter() - started
    started = time.perf_counter()
    caught_up = sum(1 for _ in records_after(state, count - 100))
    catch_up = time.perf_counter() - started
    assert (read, caught_up) == (count, 100)
    return {
        "records": count,
        "files": len(log.files()),
        "mib": round(size / (1 << 20), 1),
        "samples_records_per_s": [count / walk for walk in walks],
        "read_records_per_s": round(count / reading),
        "last_100_ms": round(catch_up * 1000, 2),
    }


def spawn_true(count: int) -> dict[str, object]:
    """The baseline: starting /bin/true and waiting for it."""
    samples = time_each(lambda: subprocess.run(["/bin/true"], check=True), count)
    return {"runs": count, "median_us": round(statistics.median(samples), 1)}


def corral_run_true(scratch: Path, count: int) -> dict[str, object]:
    """``corral run true`` in a fresh workspace, and the records it writes."""
    corral = Path(sys.executable).with_name("corral")
    workspace, state = scratch / "ws", scratch / "state"
    workspace.mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    argv = [str(corral), "run", "-C", str(workspace), "--", "/bin/true"]

    def run() -> None:
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace").strip())

    try:
        samples = time_each(run, count)
    except RuntimeError as exc:
        return {"skipped": f"corral run true failed here: {exc}"}
    records = sum(1 for _ in entries(state / "corral"))
    return {
        "runs": count,
        "median_us": round(statistics.median(samples), 1),
        "records_per_run": round(records / (count + _WARMUP), 1),
    }


def measure(plan: dict[str, int]) -> dict[str, object]:
    """Run every measurement of `plan`, each in a state directory of its own."""
    scratch = make_scratch("audit-")
    try:
        for name in ("one", "many", "verify", "run"):
            (scratch / name).mkdir(mode=0o700)
        report: dict[str, object] = {
            "one_process": one_process(scratch / "one", plan["appends"]),
            "many_processes": many_processes(
                scratch / "many", plan["processes"], plan["appends_each"]
            ),
            "verify": verification(
                scratch / "verify", plan["verify_records"], plan["verify_rounds"]
            ),
            "spawn_true": spawn_true(plan["spawns"]),
            "corral_run_true": corral_run_true(scratch / "run", plan["corral_runs"]),
        }
    finally:
        remove_tree(scratch)
    return report


def _figure(section: object, key: str) -> float:
    assert isinstance(section, dict)
    return float(section[key])


def _part(report: dict[str, object], name: str) -> dict[str, object]:
    section = report[name]
    assert isinstance(section, dict)
    return section


def _samples(section: dict[str, object], key: str) -> tuple[float, ...]:
    values = section[key]
    assert isinstance(values, list)
    return tuple(float(v) for v in values)


def figures(report: dict[str, object]) -> list[Result]:
    """Append, verify and read rates, against starting a process in the same run."""
    one, many = _part(report, "one_process"), _part(report, "many_processes")
    check, spawn = _part(report, "verify"), _part(report, "spawn_true")
    run = _part(report, "corral_run_true")
    measured_run = "median_us" in run
    baselines: dict[str, float | None] = {
        "start /bin/true": 1e6 / _figure(spawn, "median_us"),
        "corral run true": 1e6 / _figure(run, "median_us") if measured_run else None,
    }
    per_run = f", {run['records_per_run']} per corral run" if measured_run else ""
    appends = [1e6 / us for us in _samples(one, "samples_us")]
    return [
        Figure(
            id=f"{SECTION}/append/one-process",
            section=SECTION,
            label="append, one process",
            unit="appends/s",
            samples=tuple(appends),
            better="higher",
            peers=baselines,
            note=f"records the size of command.started{per_run}",
        ),
        Figure(
            id=f"{SECTION}/append/{many['processes']}-processes",
            section=SECTION,
            label=f"append, {many['processes']} processes at once",
            unit="appends/s",
            samples=(_figure(many, "appends_per_s"),),
            better="higher",
            peers=baselines,
            note="in all, contending for the log's lock",
        ),
        Figure(
            id=f"{SECTION}/verify",
            section=SECTION,
            label=f"verify, {check['records']} records",
            unit="records/s",
            samples=_samples(check, "samples_records_per_s"),
            better="higher",
            note=f"{check['mib']} MiB in {check['files']} files",
        ),
        Figure(
            id=f"{SECTION}/read",
            section=SECTION,
            label="read, the same log",
            unit="records/s",
            samples=(_figure(check, "read_records_per_s"),),
            better="higher",
        ),
    ]
