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

# What makes an fnmatch pattern more than stars around a literal.
_GLOB_CHARS = frozenset("*?[")


def is_secret_name(name: str, patterns: Iterable[str]) -> bool:
    """Tell whether a variable name matches any secret pattern (case-insensitive)."""
    return _matches(name.upper(), tuple(pattern.upper() for pattern in patterns))


def build_environment(
    policy: Policy, host: Mapping[str, str], *, sandbox_marker: str
) -> dict[str, str]:
    """Return the environment a command runs with under `policy`."""
    passed = tuple(policy.env_pass)
    secret = tuple(pattern.upper() for pattern in policy.env_secret_patterns)
    environment = {
        name: value
        for name, value in host.items()
        if _matches(name, passed) and not _matches(name.upper(), secret)
    }
    environment.update(policy.env_set)
    environment.update(_FORCED)
    environment["CORRAL_SANDBOX"] = sandbox_marker
    return environment


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """`fnmatch.fnmatchcase` against any pattern, without compiling the common ones.

    Every run matches the whole host environment against a few dozen
    patterns; compiling each to a regular expression cost milliseconds.
    """
    return any(_match(name, pattern) for pattern in patterns)


def _match(name: str, pattern: str) -> bool:
    core = pattern.strip("*")
    if any(char in core for char in _GLOB_CHARS):
        return fnmatch.fnmatchcase(name, pattern)
    if pattern and not core:
        return True  # nothing but stars
    leading, trailing = pattern.startswith("*"), pattern.endswith("*")
    if leading and trailing:
        return core in name
    if leading:
        return name.endswith(core)
    if trailing:
        return name.startswith(core)
    return name == pattern


def environment_file(env: Mapping[str, str]) -> int:
    """Return a memory file holding `env`, for the enforcer to exec the command with."""
    return entries_file(f"{name}={value}" for name, value in env.items())


def entries_file(entries: Iterable[str]) -> int:
    """Return a memory file holding `entries`, each ended by a NUL, for the enforcer."""
    fd = os.memfd_create("corral-entries", os.MFD_CLOEXEC)
    data = b"".join(os.fsencode(entry) + b"\0" for entry in entries)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd
