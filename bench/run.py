"""Measure what corral's boundary costs per command, against bare and bubblewrap alone.

Each (mode, command) cell runs in a child process of its own, so that the peak
RSS it reports is that cell's alone.  BENCHMARKS.md explains every figure.
Usage: ``.venv/bin/python bench/run.py [--repeat N] [--json bench/results.json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _machine import machine as describe_machine  # bench/ is on sys.path

MODES = ("bare", "bwrap", "corral-cli", "corral-lib")
COMMANDS = ("true", "python3 -c pass", "git status")

# A handful of files in a few directories: enough for git status to walk.
_REPO_DIRS = 5
_REPO_FILES_PER_DIR = 10

_GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@localhost")

Runner = Callable[[], None]


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"bench: {name} is not on PATH; install it and rerun")
    return found


def command_argv(name: str) -> list[str]:
    """Return the absolute argv of one benchmarked command."""
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    return {
        "true": [_program("true")],
        "python3 -c pass": [python, "-c", "pass"],
        "git status": [_program("git"), "status", "--short"],
    }[name]


def make_repo(path: Path) -> None:
    """Create a small real git repository with one commit and one changed file."""
    path.mkdir(parents=True)
    subprocess.run([*_GIT, "init", "-q"], cwd=path, check=True)
    for d in range(_REPO_DIRS):
        (path / f"pkg{d}").mkdir()
        for f in range(_REPO_FILES_PER_DIR):
            (path / f"pkg{d}" / f"mod{f}.py").write_text(f"VALUE = {d * f}\n")
    subprocess.run([*_GIT, "add", "-A"], cwd=path, check=True)
    subprocess.run([*_GIT, "commit", "-qm", "bench"], cwd=path, check=True)
    (path / "pkg0" / "mod0.py").write_text("VALUE = -1\n")


def bwrap_argv(bwrap: str, workspace: Path, argv: Sequence[str]) -> list[str]:
    """bubblewrap alone, with a namespace set and mounts comparable to corral's."""
    ws = str(workspace)
    return [
        bwrap, "--die-with-parent",
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-net",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--tmpfs", "/tmp", "--bind", ws, ws, "--chdir", ws,  # noqa: S108 - in the sandbox
        "--", *argv,
    ]  # fmt: skip


def _subprocess_runner(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Runner:
    def run() -> None:
        done = subprocess.run(
            argv, cwd=cwd, env=env, check=False,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(
                f"bench: {argv} exited {done.returncode}: {done.stderr.decode()!r}"
            )

    return run


def find_bwrap() -> str:
    """Return the bubblewrap binary corral itself uses."""
    from corral.sandbox import find_tools  # noqa: PLC0415 - see _library_runner

    bwrap = find_tools().bwrap
    if bwrap is None:
        raise SystemExit("bench: no bubblewrap found; run scripts/setup")
    return bwrap


def make_runner(cell: Cell, argv: list[str], env: dict[str, str]) -> Runner:
    """Return a function that runs `argv` once in the cell's mode; it fails loudly."""
    ws = cell.workspace
    if cell.mode == "bare":
        return _subprocess_runner(argv, ws, env)
    if cell.mode == "bwrap":
        return _subprocess_runner(bwrap_argv(cell.bwrap, ws, argv), ws, env)
    if cell.mode == "corral-cli":
        corral = str(Path(sys.executable).with_name("corral"))
        return _subprocess_runner([corral, "run", "-C", str(ws), "--", *argv], ws, env)
    return _library_runner(argv, ws, env)


def _library_runner(argv: list[str], ws: Path, env: dict[str, str]) -> Runner:
    # Imported here, not at the top: every cell's runner forks its commands, and
    # Linux counts a forked child's peak RSS from its parent's, so the runners
    # of the other modes stay as small as a bare interpreter.
    from corral.policy import load_policy  # noqa: PLC0415
    from corral.sandbox import Sandbox  # noqa: PLC0415

    sandbox = Sandbox(ws, load_policy(ws, environ=env), environ=env)

    def run_in_library() -> None:
        result = sandbox.run(argv, cwd=ws, capture=True)
        if result.exit_status != 0:
            raise SystemExit(f"bench: {argv} exited {result.exit_status} in corral")

    return run_in_library


@dataclass(frozen=True)
class Cell:
    """One measurement: a command in a mode, repeated."""

    mode: str
    command: str
    workspace: Path
    bwrap: str
    repeat: int
    warmup: int

    def argv(self) -> list[str]:
        """The command line of this cell's runner process."""
        return [
            sys.executable, __file__, "--cell", self.mode, self.command,
            "--workspace", str(self.workspace), "--bwrap", self.bwrap,
            "--repeat", str(self.repeat), "--warmup", str(self.warmup),
        ]  # fmt: skip


def measure_cell(cell: Cell) -> None:
    """Time one cell and print its samples and peak RSS as one JSON object."""
    env = dict(os.environ)
    run = make_runner(cell, command_argv(cell.command), env)
    for _ in range(cell.warmup):
        run()
    samples = []
    for _ in range(cell.repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    print(json.dumps({
        "samples_ms": samples,
        # ru_maxrss is in KiB on Linux: the largest of all waited-for descendants.
        "peak_rss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "peak_rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))  # fmt: skip


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run_cell(cell: Cell, env: dict[str, str]) -> dict[str, object]:
    """Measure one cell in a child process of its own; return its figures."""
    done = subprocess.run(
        cell.argv(), env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"bench: cell {cell.mode} / {cell.command} failed:\n{done.stderr}"
        )
    figures = json.loads(done.stdout.splitlines()[-1])
    samples: list[float] = figures["samples_ms"]
    library = cell.mode == "corral-lib"
    return {
        "mode": cell.mode,
        "command": cell.command,
        "median_ms": statistics.median(samples),
        "p90_ms": percentile(samples, 0.9),
        "samples_ms": [round(s, 3) for s in samples],
        "peak_rss_children_kib": figures["peak_rss_children_kib"],
        "peak_rss_self_kib": figures["peak_rss_self_kib"] if library else None,
    }


def add_ratios(results: list[dict[str, object]]) -> None:
    """Add each cell's median as a multiple of bare and of bubblewrap alone."""
    medians = {(r["mode"], r["command"]): float(str(r["median_ms"])) for r in results}
    for r in results:
        median = medians[(r["mode"], r["command"])]
        r["x_bare"] = round(median / medians[("bare", r["command"])], 2)
        r["x_bwrap"] = round(median / medians[("bwrap", r["command"])], 2)


def machine() -> dict[str, object]:
    """Describe the machine the figures were measured on, bubblewrap included."""
    version = subprocess.run(
        [find_bwrap(), "--version"], capture_output=True, text=True, check=False
    )
    return {**describe_machine(), "bubblewrap": version.stdout.strip()}


def format_table(results: list[dict[str, object]]) -> str:
    """Render the results as a plain-text table, one row per cell."""
    header = ("command", "mode", "median ms", "p90 ms", "x bare", "x bwrap", "peak RSS")
    rows = [header]
    for r in results:
        rss = f"{int(str(r['peak_rss_children_kib'])) / 1024:.1f} MiB"
        if r["peak_rss_self_kib"] is not None:
            rss += f" (+host {int(str(r['peak_rss_self_kib'])) / 1024:.1f} MiB)"
        rows.append((
            str(r["command"]), str(r["mode"]),
            f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}",
            f"{r['x_bare']:.1f}", f"{r['x_bwrap']:.2f}", rss,
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def remove_tree(path: Path) -> None:
    """Remove a directory tree, including corral's mode-000 stand-ins inside it."""
    # Top-down, so each directory is opened up before the walk enters it.
    for directory, subdirectories, _ in os.walk(path):
        for name in subdirectories:
            child = Path(directory) / name
            if not child.is_symlink():
                child.chmod(0o700)
    shutil.rmtree(path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="measured runs per cell")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs first")
    parser.add_argument("--json", type=Path, help="also write the results to FILE")
    parser.add_argument("--cell", nargs=2, metavar=("MODE", "COMMAND"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bwrap", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cell:
        mode, command = args.cell
        measure_cell(
            Cell(mode, command, args.workspace, args.bwrap, args.repeat, args.warmup)
        )
        return 0

    # Not under /tmp: every sandbox has a private /tmp of its own.
    base = Path.home() / ".cache" / "corral-bench"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    try:
        ws = work / "ws"
        make_repo(ws)
        # corral's event log and (absent) user policy are the benchmark's own.
        env = {**os.environ, "XDG_STATE_HOME": str(work / "state"),
               "XDG_CONFIG_HOME": str(work / "config")}  # fmt: skip
        bwrap = find_bwrap()
        results = [
            run_cell(Cell(mode, command, ws, bwrap, args.repeat, args.warmup), env)
            for command in COMMANDS
            for mode in MODES
        ]
    finally:
        remove_tree(work)
    add_ratios(results)

    about = machine()
    print(f"corral benchmark: {args.repeat} runs per cell after {args.warmup} "
          f"warm-up; Linux {about['kernel']}, {about['cpus']} CPUs, "
          f"{about['cpu']}")  # fmt: skip
    print(format_table(results), end="")
    floor = next(r for r in results if r["mode"] == "bare")["peak_rss_children_kib"]
    print(f"peak RSS: the largest process a cell started; Linux counts a forked "
          f"child from its parent's size, so the runner's own "
          f"{int(str(floor)) / 1024:.1f} MiB (bare true) is the floor")  # fmt: skip
    if args.json:
        report = {"repeat": args.repeat, "warmup": args.warmup, "machine": about,
                  "results": results}  # fmt: skip
        temporary = args.json.with_name(args.json.name + ".tmp")
        temporary.write_text(json.dumps(report, indent=2) + "\n")
        temporary.replace(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
