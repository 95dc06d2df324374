"""Helpers the tests share: running the real ``corral`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

IS_ROOT = os.geteuid() == 0

CORRAL = (sys.executable, "-m", "corral")
"""The real ``corral`` command line, run by the interpreter running the tests."""


@dataclass
class Ran:
    """A finished ``corral`` process."""

    returncode: int
    stdout: str
    stderr: str


class CorralCLI:
    """Runs ``python -m corral`` with a fixed base environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        timeout: float = 60,
    ) -> Ran:
        done = subprocess.run(
            [*CORRAL, *args],
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def run(
        self,
        workspace: Path,
        *command: str,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        timeout: float = 60,
    ) -> Ran:
        """``corral run -C WORKSPACE -- COMMAND...``"""
        return self(
            "run",
            "-C",
            str(workspace),
            "--",
            *command,
            env=env,
            stdin=stdin,
            timeout=timeout,
        )


def sh(script: str) -> tuple[str, ...]:
    """Return the argv that runs `script` with the shell inside the sandbox."""
    return ("sh", "-c", script, "sh")
