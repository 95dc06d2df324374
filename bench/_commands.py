"""Per-command cost: three commands run bare, in bubblewrap, in corral and in peers.

Each (way, command) cell runs in a child process of its own (this file, run
with the cell's way and command), so that the peak RSS it reports is that
cell's alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _figures import Figure, Missing, Result

TYPE_CHECKING = False
if TYPE_CHECKING:  # the cells' own processes stay as small as a bare interpreter
    from _peers import Missing as PeerMissing
    from _peers import Peer

SECTION = "per-command"
CORRAL_WAYS = ("bare", "bwrap", "corral-cli", "corral-lib", "corral-lib-prestart")
"""The ways measured without any peer: nothing, bubblewrap alone, and corral."""
LIBRARY_WAYS = ("corral-lib", "corral-lib-prestart")

PAUSE_SECONDS = 0.25
"""Between two commands of `corral-lib-prestart`, untimed: an agent's model takes
longer than this to decide its next command, and the next run's sandbox is
started meanwhile.  Every other way runs its commands back to back."""
COMMANDS = ("true", "python3 script.py", "git status")

SCRIPT = """\
import json, pathlib
files = sorted(str(p) for p in pathlib.Path(".").rglob("*.py"))
print(json.dumps({"python_files": len(files)}))
"""
"""The short Python script: starts the interpreter, imports, walks the tree."""

_GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@localhost")
_REPOSITORY = Path(__file__).resolve().parent.parent
"""corral's own checkout: the real repository `git status` walks."""

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
        "python3 script.py": [python, "script.py"],
        "git status": [_program("git"), "status", "--short"],
    }[name]


def make_workspace(path: Path) -> str:
    """Clone corral's own repository to `path`, change one file, add the script.

    Returns what the workspace is, for the report.  Outside a git checkout of
    corral (an unpacked archive), a small repository is made up instead.
    """
    if (_REPOSITORY / ".git").exists():
        # The checkout may belong to another user (CI clones as root, then
        # reads it as an unprivileged one): trust it for this one clone, on the
        # side that reads it.
        trust = shlex.quote(f"safe.directory={_REPOSITORY / '.git'}")
        trusted = f"git -c {trust} upload-pack"  # a shell runs it
        clone = ("clone", "-q", f"--upload-pack={trusted}")
        source = _REPOSITORY.as_uri()  # the transport, not a copy of the files
        subprocess.run([*_GIT, *clone, source, str(path)], check=True)
        what = "a clone of corral's own repository"
    else:
        path.mkdir(parents=True)
        subprocess.run([*_GIT, "init", "-q"], cwd=path, check=True)
        for d in range(5):
            (path / f"pkg{d}").mkdir()
            for f in range(10):
                (path / f"pkg{d}" / f"mod{f}.py").write_text(f"VALUE = {d * f}\n")
        subprocess.run([*_GIT, "add", "-A"], cwd=path, check=True)
        subprocess.run([*_GIT, "commit", "-qm", "bench"], cwd=path, check=True)
        what = "a made-up repository"
    files = subprocess.run(
        ["git", "ls-files"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.count("\n")
    changed = next(p for p in sorted(path.rglob("*.md")) if ".git" not in p.parts)
    changed.write_text(changed.read_text() + "\nchanged by the benchmark\n")
    (path / "script.py").write_text(SCRIPT)
    return f"{what}, {files} tracked files, one changed, one untracked"


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
            argv,
            cwd=cwd,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
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


def _library_runner(
    argv: list[str], ws: Path, env: dict[str, str], *, prestart: bool
) -> Runner:
    # Imported here, not at the top: every cell's runner forks its commands, and
    # Linux counts a forked child's peak RSS from its parent's, so the runners
    # of the other ways stay as small as a bare interpreter.
    from corral.policy import load_policy  # noqa: PLC0415
    from corral.sandbox import Sandbox  # noqa: PLC0415

    sandbox = Sandbox(ws, load_policy(ws, environ=env), environ=env, prestart=prestart)

    def run_in_library() -> None:
        result = sandbox.run(argv, cwd=ws, capture=True)
        if result.exit_status != 0:
            raise SystemExit(f"bench: {argv} exited {result.exit_status} in corral")

    return run_in_library


@dataclass(frozen=True)
class Cell:
    """One measurement: a command in one way, repeated.

    For a peer, `prefix` is its command line before the command and `env` the
    variables it needs; corral's own ways need neither.
    """

    way: str
    command: str
    workspace: Path
    bwrap: str
    repeat: int
    warmup: int
    prefix: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    def argv(self) -> list[str]:
        """The command line of this cell's runner process."""
        return [
            sys.executable,
            __file__,
            self.way,
            self.command,
            "--workspace",
            str(self.workspace),
            "--bwrap",
            self.bwrap,
            "--repeat",
            str(self.repeat),
            "--warmup",
            str(self.warmup),
            "--peer",
            json.dumps({"prefix": self.prefix, "env": dict(self.env)}),
        ]

    def runner(self, argv: list[str], env: dict[str, str]) -> Runner:
        """A function that runs `argv` once this cell's way; it fails loudly."""
        ws = self.workspace
        if self.way == "bare":
            return _subprocess_runner(argv, ws, env)
        if self.way == "bwrap":
            return _subprocess_runner(bwrap_argv(self.bwrap, ws, argv), ws, env)
        if self.way == "corral-cli":
            corral = str(Path(sys.executable).with_name("corral"))
            cli = [corral, "run", "-C", str(ws), "--", *argv]
            return _subprocess_runner(cli, ws, env)
        if self.way in LIBRARY_WAYS:
            prestart = self.way == "corral-lib-prestart"
            return _library_runner(argv, ws, env, prestart=prestart)
        return _subprocess_runner([*self.prefix, *argv], ws, {**env, **dict(self.env)})


def measure_cell(cell: Cell) -> None:
    """Time one cell and print its samples and peak RSS as one JSON object."""
    run = cell.runner(command_argv(cell.command), dict(os.environ))
    pause = PAUSE_SECONDS if cell.way == "corral-lib-prestart" else 0
    for _ in range(cell.warmup):
        run()
    samples = []
    for _ in range(cell.repeat):
        time.sleep(pause)
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    # ru_maxrss is in KiB on Linux: the largest of all waited-for descendants.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"samples_ms": samples, "children_kib": children, "self_kib": own})
    )


def run_cell(cell: Cell, env: dict[str, str]) -> tuple[Figure, Figure] | Missing:
    """Measure one cell in a child process of its own: its wall time and memory."""
    done = subprocess.run(
        cell.argv(), env=env, capture_output=True, text=True, check=False
    )
    name, label = f"{SECTION}/{cell.command}/{cell.way}", f"{cell.command}: {cell.way}"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Missing(name, SECTION, label, f"failed in this run: {reason}")
    figures = json.loads(done.stdout.splitlines()[-1])
    # A long-lived caller holds the Sandbox itself: its own size counts too.
    own = figures["self_kib"] if cell.way in LIBRARY_WAYS else 0
    peak = max(figures["children_kib"], own) / 1024
    wall = tuple(figures["samples_ms"])
    return (
        Figure(
            id=f"{name}/wall", section=SECTION, label=label, unit="ms", samples=wall
        ),
        Figure(
            id=f"{name}/peak-rss", section=SECTION, label=label, unit="MiB",
            samples=(peak,), note="the largest process of the cell",
        ),
    )  # fmt: skip


def measure(
    peers: dict[str, Peer | PeerMissing], workspace: Path, repeat: int, warmup: int
) -> list[Result]:
    """Every command in every way; each figure carries the others' medians."""
    from _peers import Missing as PeerMissing  # noqa: PLC0415 - see TYPE_CHECKING

    env = {
        **os.environ,
        "XDG_STATE_HOME": str(workspace.parent / "state"),
        "XDG_CONFIG_HOME": str(workspace.parent / "config"),
    }
    bwrap = find_bwrap()
    results: list[Result] = []
    for command in COMMANDS:
        cells: dict[str, tuple[Figure, Figure] | Missing] = {}
        for way in CORRAL_WAYS:
            cells[way] = run_cell(
                Cell(way, command, workspace, bwrap, repeat, warmup), env
            )
        for way, peer in peers.items():
            if isinstance(peer, PeerMissing):
                cells[way] = Missing(
                    f"{SECTION}/{command}/{way}",
                    SECTION,
                    f"{command}: {way}",
                    peer.reason,
                )
                continue
            cell = Cell(
                way,
                command,
                workspace,
                bwrap,
                repeat,
                warmup,
                tuple(peer.prefix),
                tuple(sorted(peer.env.items())),
            )
            cells[way] = run_cell(cell, env)
        results += _with_peers(cells)
    return results


def _with_peers(cells: dict[str, tuple[Figure, Figure] | Missing]) -> list[Result]:
    """Give each cell's figures the medians of every other way, same command."""
    out: list[Result] = []
    for kind in (0, 1):
        medians = {
            way: None if isinstance(cell, Missing) else cell[kind].median
            for way, cell in cells.items()
        }
        for way, cell in cells.items():
            if isinstance(cell, Missing):
                if kind == 0:
                    out.append(cell)
                continue
            others = {k: v for k, v in medians.items() if k != way}
            out.append(dataclasses.replace(cell[kind], peers=others))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one cell (this file as the cell's own process)."""
    parser = argparse.ArgumentParser(description="measure one cell")
    parser.add_argument("way")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--bwrap", required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--peer", type=json.loads, required=True)
    args = parser.parse_args(argv)
    measure_cell(
        Cell(
            args.way,
            args.command,
            args.workspace,
            args.bwrap,
            args.repeat,
            args.warmup,
            tuple(args.peer["prefix"]),
            tuple(sorted(args.peer["env"].items())),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
