"""Running the real enforcer, without bubblewrap, so that each layer is seen alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from corral.sandbox._enforce import EnforcerConfig, enforcer_argv
from corral.sandbox._landlock import LandlockSpec

IS_ROOT = os.geteuid() == 0
NOBODY = 65534


@dataclass
class Enforced:
    """A finished enforcer process and what it reported on its status fd."""

    returncode: int
    stdout: str
    stderr: str
    status: list[dict[str, object]] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        """The command's stdout read as one JSON value (what a probe printed)."""
        value = json.loads(self.stdout)
        assert isinstance(value, dict), self.stdout
        return value


def run_enforced(
    argv: Sequence[str],
    *,
    landlock: LandlockSpec | None = None,
    seccomp_allow_inet: bool | None = None,
    identity: bool = False,
    user: int | None = None,
    timeout: float = 60,
) -> Enforced:
    """Run `argv` behind the layers asked for, as `user` if given, and wait."""
    status_r, status_w = os.pipe()
    config = EnforcerConfig(
        status_fd=status_w,
        stderr_fd=None,
        landlock=landlock,
        seccomp_allow_inet=seccomp_allow_inet,
        identity=identity,
    )
    try:
        done = subprocess.run(
            enforcer_argv(sys.executable, config, argv),
            pass_fds=(status_w,),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
        )
    finally:
        os.close(status_w)
    with os.fdopen(status_r, encoding="utf-8") as reader:
        status = [json.loads(line) for line in reader.read().splitlines()]
    return Enforced(done.returncode, done.stdout, done.stderr, status)


def python_argv(code: str) -> list[str]:
    """The command line of a Python probe run inside the sandbox."""
    return [sys.executable, "-I", "-c", code]
