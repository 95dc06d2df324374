"""The command's environment: built from policy, with secrets removed.

Host variables pass only when a policy pattern names them, and never when
their name looks like a credential; the policy's own values are set last.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping

from corral.policy import Policy

__all__ = ["build_environment", "environment_file", "is_secret_name"]

# Inside the sandbox /tmp is private; a host TMPDIR would point elsewhere.
_FORCED = {"TMPDIR": "/tmp"}  # noqa: S108 - the sandbox's own private tmpfs


def is_secret_name(name: str, patterns: Iterable[str]) -> bool:
    """Tell whether a variable name matches any secret pattern (case-insensitive)."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern.upper()) for pattern in patterns)


def build_environment(
    policy: Policy, host: Mapping[str, str], *, sandbox_marker: str
) -> dict[str, str]:
    """Return the environment a command runs with under `policy`."""
    environment = {
        name: value
        for name, value in host.items()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in policy.env_pass)
        and not is_secret_name(name, policy.env_secret_patterns)
    }
    environment.update(policy.env_set)
    environment.update(_FORCED)
    environment["CORRAL_SANDBOX"] = sandbox_marker
    return environment


def environment_file(env: Mapping[str, str]) -> int:
    """Return a memory file holding `env`, for the enforcer to exec the command with."""
    fd = os.memfd_create("corral-env", os.MFD_CLOEXEC)
    data = b"".join(
        os.fsencode(name) + b"=" + os.fsencode(value) + b"\0"
        for name, value in env.items()
    )
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd
