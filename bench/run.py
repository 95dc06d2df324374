"""corral's benchmark: every figure, against bubblewrap and the other sandboxes.

One run on one machine measures, each against baselines and peers measured in
the same run: what a command costs bare, in bubblewrap alone, through the
corral CLI and the long-lived library, in ``codex sandbox`` and in ``srt``
(installed on demand into a cache outside the repository); corral's decisions
per second; its proxy's throughput and connection set-up; its event log's
append rate.  BENCHMARKS.md explains every figure.
Usage: ``.venv/bin/python bench/run.py [--quick] [--peers install|cached|none]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import _audit
import _commands
import _decisions
import _network
import _peers
from _figures import (
    Figure,
    Missing,
    Result,
    markdown,
    number,
    spread,
    table,
    write_json,
)
from _machine import machine
from _scratch import remove_tree, scratch

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = ("per-command", "decisions", "proxy", "audit")
FULL = {"repeat": 30, "warmup": 3, "rounds": 50}
QUICK = {"repeat": 2, "warmup": 1, "rounds": 2}
PEER_WAYS = ("codex", "codex-native", "srt")
RATIO_COLUMNS = ("bare", "bwrap", "codex", "codex-native", "srt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few runs of everything: checks the benchmark, "
        "measures nothing worth keeping",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="measured runs per command cell "
        f"(default {FULL['repeat']}, --quick {QUICK['repeat']})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help="unmeasured runs first "
        f"(default {FULL['warmup']}, --quick {QUICK['warmup']})",
    )
    parser.add_argument(
        "--peers",
        choices=("install", "cached", "none"),
        default="install",
        help="install codex and srt if missing (default), use only what is "
        "already in the cache, or measure corral alone",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="measure this section only (repeatable)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the tables as Markdown"
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="write the results to FILE "
        f"(default: {RESULTS.name} beside this script, not with --quick)",
    )
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    for key in ("repeat", "warmup"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    if plan["repeat"] < 1 or plan["warmup"] < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    args.plan = plan
    args.sections = tuple(args.only or SECTIONS)
    if args.json is None and not args.quick:
        args.json = RESULTS
    if args.json is not None and (
        args.json.is_dir() or not args.json.absolute().parent.is_dir()
    ):
        parser.error(f"--json {args.json}: name a file in an existing directory")
    return args


def per_command(args: argparse.Namespace) -> tuple[list[Result], dict[str, object]]:
    """The per-command section, in a fresh clone of corral's repository."""
    work = scratch("run-")
    try:
        workspace = work / "ws"
        about = _commands.make_workspace(workspace)
        peers: dict[str, _peers.Peer | _peers.Missing] = (
            {
                way: _peers.Missing(way, "not measured: --peers none")
                for way in PEER_WAYS
            }
            if args.peers == "none"
            else _peers.prepare(PEER_WAYS, workspace, install=args.peers == "install")
        )
        results = _commands.measure(
            peers, workspace, args.plan["repeat"], args.plan["warmup"]
        )
    finally:
        remove_tree(work)
    described: dict[str, object] = {
        way: {"version": peer.version}
        if isinstance(peer, _peers.Peer)
        else {"missing": peer.reason}
        for way, peer in peers.items()
    }
    return results, {"workspace": about, "peers": described}


def _section(
    name: str,
    measure: Callable[[], dict[str, object]],
    figures: Callable[[dict[str, object]], list[Result]],
) -> list[Result]:
    """Measure one section; a section that fails is reported missing, with why."""
    try:
        return figures(measure())
    except Exception as exc:  # noqa: BLE001 - reported, and the others still run
        return [Missing(name, name, name, f"failed in this run: {exc!r}")]


def measure_all(args: argparse.Namespace) -> tuple[list[Result], dict[str, object]]:
    """Every section asked for, in order."""
    quick = args.quick
    results: list[Result] = []
    about: dict[str, object] = {}
    if "per-command" in args.sections:
        results, about = per_command(args)
    if "decisions" in args.sections:
        results += _section(
            "decisions",
            lambda: _decisions.measure(args.plan["rounds"]),
            _decisions.figures,
        )
    if "proxy" in args.sections:
        plan = _network.QUICK if quick else _network.FULL
        results += _section(
            "proxy", lambda: {"plan": plan, **_network.measure(plan)}, _network.figures
        )
    if "audit" in args.sections:
        plan = _audit.QUICK if quick else _audit.FULL
        results += _section("audit", lambda: _audit.measure(plan), _audit.figures)
    return results, about


def _ratio(figure: Figure, peer: str) -> str:
    value = figure.ratios().get(peer)
    return "" if value is None else f"{value:.2f}"


def command_rows(results: Sequence[Result]) -> list[list[str]]:
    """The per-command figures, one row per command and way; a header first."""
    header = ["command", "way", "median ms", "p10-p90 ms",
              *(f"x {c}" for c in RATIO_COLUMNS), "peak RSS"]  # fmt: skip
    rows = [header]
    memory = {
        r.id.removesuffix("/peak-rss"): r
        for r in results
        if isinstance(r, Figure) and r.id.endswith("/peak-rss")
    }
    for r in results:
        if r.section != _commands.SECTION:
            continue
        command, _, way = r.label.partition(": ")
        if isinstance(r, Missing):
            rows.append([command, way, "missing", *[""] * (len(header) - 3)])
        elif r.unit == "ms":
            rss = memory[r.id.removesuffix("/wall")].median
            ratios = [_ratio(r, c) for c in RATIO_COLUMNS]
            row = [command, way, number(r.median), _spread(r), *ratios]
            rows.append([*row, f"{rss:.1f} MiB"])
    return rows


def _spread(figure: Figure) -> str:
    s = spread(figure.samples)
    return f"{number(s['p10'])}-{number(s['p90'])}"


def other_rows(results: Sequence[Result]) -> list[list[str]]:
    """Every other figure: its median, spread, and its same-run baselines."""
    rows = [["section", "figure", "median", "unit", "p10-p90", "against (same run)"]]
    for r in results:
        if r.section == _commands.SECTION:
            continue
        if isinstance(r, Missing):
            rows.append([r.section, r.label, "missing", "", "", ""])
            continue
        against = ", ".join(
            f"x {value:.3g} {name}" for name, value in r.ratios().items()
        )
        rows.append([r.section, r.label, number(r.median), r.unit, _spread(r), against])
    return rows


def targets(results: Sequence[Result]) -> list[str]:
    """Where corral stands against its targets, per command, in this run."""
    by_id = {r.id: r for r in results if isinstance(r, Figure)}
    lines = []
    for command in _commands.COMMANDS:
        cli = by_id.get(f"{_commands.SECTION}/{command}/corral-cli/wall")
        lib = by_id.get(f"{_commands.SECTION}/{command}/corral-lib/wall")
        warm = by_id.get(f"{_commands.SECTION}/{command}/corral-lib-prestart/wall")
        if cli is None or lib is None:
            continue
        parts = [f"{command}: corral CLI {number(cli.median)} ms"]
        for peer in ("codex", "codex-native", "srt"):
            value = cli.peers.get(peer)
            parts.append(
                f"{peer} {number(value)} ms (x {cli.median / value:.2f})"
                if value
                else f"{peer} missing"
            )
        bwrap = lib.peers.get("bwrap")
        for name, figure in (("library", lib), ("prestarted", warm)):
            if bwrap and figure is not None:
                ratio = figure.median / bwrap
                parts.append(f"{name} {number(figure.median)} ms = bwrap x {ratio:.2f}")
        lines.append("; ".join(parts))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    results, about = measure_all(args)
    report: dict[str, object] = {
        "schema": 1,
        "command": " ".join(["bench/run.py", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {**machine(), "bubblewrap": _bwrap_version()},
        "plan": args.plan,
        **about,
        "targets": targets(results),
        "figures": [r.to_json() for r in results if isinstance(r, Figure)],
        "missing": [r.to_json() for r in results if isinstance(r, Missing)],
    }
    m = report["machine"]
    assert isinstance(m, dict)
    print(f"corral benchmark: {args.plan['repeat']} runs per cell after "
          f"{args.plan['warmup']} warm-up; Linux {m['kernel']}, {m['cpus']} CPUs, "
          f"{m['cpu']}, {m['user']}")  # fmt: skip
    render = markdown if args.markdown else table
    blocks = []
    if "per-command" in args.sections:
        blocks.append(render(command_rows(results), right=range(2, 9)))
        blocks.append("\n".join(report["targets"]) + "\n")  # type: ignore[arg-type]
    if any(r.section != _commands.SECTION for r in results):
        blocks.append(render(other_rows(results), right=(2,)))
    missing = [r for r in results if isinstance(r, Missing)]
    if missing:
        blocks.append("".join(f"missing: {r.label}: {r.reason}\n" for r in missing))
    print("\n" + "\n".join(blocks), end="")
    if args.json:
        write_json(args.json, report)
        print(f"\nwritten to {args.json}")
    print(f"took {time.time() - started:.0f} s")
    return 0


def _bwrap_version() -> str:
    done = subprocess.run(
        [_commands.find_bwrap(), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
