"""Measure how many commands per second corral decides, against splitting them alone.

Every command corral runs is parsed, classified and decided first, so this cost
is on every command's path.  The baseline, measured in the same run, is
``shlex.split`` over the same lines: the least any classifier must do.
``bench/run.py`` runs it.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _figures import Figure, Result

# Commands of the kind coding agents run, taken from the shapes seen in agent
# transcripts: reads, searches, tests, builds, git, installs, and the compound
# forms agents chain them in.
AGENT_COMMANDS = (
    "ls -la",
    "ls src tests",
    "cat README.md",
    "head -n 50 src/app.py",
    "sed -n '1,80p' src/corral/cli/_run.py",
    "rg -n 'def main' src",
    "rg --files | head -50",
    "grep -rn TODO src | wc -l",
    "find . -name '*.py' -not -path './.venv/*' | head",
    "wc -l src/*.py",
    "git status",
    "git status --short",
    "git diff",
    "git diff --stat HEAD~1",
    "git log --oneline -10",
    "git show HEAD --stat",
    "git branch --show-current",
    "git add -A && git commit -m 'Fix the parser'",
    "git checkout -b fix/parser",
    "git push origin fix/parser",
    "pytest -q",
    "pytest -q tests/test_parse.py -k quoting -x",
    "python -m pytest --maxfail=1 -q",
    "python -c 'import sys; print(sys.version)'",
    "npm test",
    "npm run build && npm test",
    "npm install --save-dev vitest",
    "pip install -e '.[dev]'",
    "make -j8",
    "make test 2>&1 | tail -30",
    "cargo build --release",
    "cargo test -- --nocapture",
    "go test ./...",
    "ruff check . && mypy src",
    "cd src && ls -la",
    "mkdir -p build && cd build && cmake .. && make",
    "echo $(git rev-parse HEAD)",
    "cat package.json | jq '.scripts'",
    'for f in src/*.py; do python -m py_compile "$f"; done',
    "if [ -f Makefile ]; then make; else echo none; fi",
    "timeout 60 pytest -q tests/integration",
    "env CI=1 npm test",
    "bash -lc 'source .venv/bin/activate && pytest -q'",
    "sh -c 'cd tests && pytest -q'",
    "curl -s http://127.0.0.1:8000/health",
    "sudo apt-get install -y jq",
    "rm -rf build dist",
    "cp -r template/ new-project/",
    "mv src/old.py src/new.py",
    "echo 'print(1)' > scratch.py && python scratch.py",
    "cat > notes.md <<'EOF'\n# Notes\n- parser\nEOF",
    "git stash && git pull --rebase && git stash pop",
    "docker build -t app .",
    "tar -czf out.tgz dist/",
    "diff -u a.txt b.txt",
    "xargs -n1 echo < list.txt",
    "find . -name '*.pyc' -exec rm {} +",
    "ps aux | grep python",
    "printf '%s\\n' a b c | sort | uniq -c",
    "GIT_PAGER=cat git log -3",
)

Step = Callable[[str], object]
SECTION = "decisions"
BASELINE = "shlex.split (baseline)"


def _setup(workspace: Path, environ: dict[str, str]) -> dict[str, Step]:
    from corral.approvals._context import make_context  # noqa: PLC0415
    from corral.approvals._gate import assess  # noqa: PLC0415
    from corral.approvals.shell._parse import parse  # noqa: PLC0415
    from corral.policy import load_policy  # noqa: PLC0415

    policy = load_policy(workspace, environ=environ)
    context = make_context(policy, workspace, workspace, environ)

    def decide(line: str, *, reuse: bool) -> object:
        return assess(
            ["bash", "-c", line],
            workspace=workspace,
            cwd=workspace,
            policy=policy,
            policy_as_filed=policy,
            environ=environ,
            context=context if reuse else None,
        ).decision

    return {
        BASELINE: shlex.split,
        "parse": parse,
        "decide, context reused": lambda line: decide(line, reuse=True),
        "decide, as corral run": lambda line: decide(line, reuse=False),
    }


def _rate(step: Step, rounds: int) -> list[float]:
    """Return each round's microseconds per command."""
    per_round = []
    for _ in range(rounds):
        start = time.perf_counter()
        for line in AGENT_COMMANDS:
            step(line)
        elapsed = time.perf_counter() - start
        per_round.append(elapsed / len(AGENT_COMMANDS) * 1e6)
    return per_round


def measure(rounds: int) -> dict[str, object]:
    """Measure the baseline, parsing alone, and the whole decision.

    "context reused" is what a long-lived caller pays per command; "as corral
    run" also resolves the workspace's protected, hidden and writable paths,
    which ``corral run`` does once for its one command.
    """
    with tempfile.TemporaryDirectory(dir=Path.home()) as scratch:
        workspace = Path(scratch) / "ws"
        workspace.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
        environ = {**os.environ, "XDG_STATE_HOME": str(Path(scratch) / "state")}
        steps = _setup(workspace, environ)
        for step in steps.values():  # warm-up: grammar loaded, caches filled
            for line in AGENT_COMMANDS:
                step(line)
        results = []
        for name, step in steps.items():
            samples = _rate(step, rounds)
            results.append({"step": name, "samples_us": [round(s, 2) for s in samples]})
    return {"commands": len(AGENT_COMMANDS), "rounds": rounds, "results": results}


def figures(report: dict[str, object]) -> list[Result]:
    """Decisions per second of each step, each against the baseline's."""
    steps = report["results"]
    assert isinstance(steps, list)
    rates = {
        str(step["step"]): tuple(1e6 / us for us in step["samples_us"])
        for step in steps
    }
    baseline = BASELINE, statistics.median(rates[BASELINE])
    return [
        Figure(
            id=f"{SECTION}/{name}",
            section=SECTION,
            label=name,
            unit="decisions/s",
            samples=samples,
            better="higher",
            peers={} if name == BASELINE else dict([baseline]),
            note=f"{report['commands']} agent command lines per round",
        )
        for name, samples in rates.items()
    ]
