"""Explain what the sandbox refused, from what the command said on its stderr.

The kernel answers a refused write with EROFS or EACCES and a refused
connection with ENETUNREACH or EAFNOSUPPORT; programs print those in a few
well-known wordings.  Matching them against the profile turns "Read-only file
system" into advice an agent can act on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from corral.policy import NetworkMode
from corral.sandbox._profile import SandboxProfile

__all__ = ["Refusal", "find_refusals"]

# At most this many distinct refusals are reported after one command.
MAX_REFUSALS = 5

_WRITE_DENIED = re.compile(r"Read-only file system|\[Errno 30\]|EROFS")
_ACCESS_DENIED = re.compile(r"Permission denied|\[Errno 13\]|EACCES")
# Creating an absent protected path meets its read-only placeholder.
_EXISTS = re.compile(r"File exists|\[Errno 17\]|EEXIST")
_NETWORK_DENIED = re.compile(
    r"Network is unreachable|Address family not supported|\[Errno 97\]|"
    r"\[Errno 101\]|Temporary failure in name resolution|Name or service not known|"
    r"Could not resolve host|getaddrinfo|ENETUNREACH|EAI_AGAIN|No address associated"
)
# GNU tools quote names with typographic quotes in UTF-8 locales.
_QUOTES = "'\"`\u2018\u2019"
_QUOTED_PATH = re.compile(f"[{_QUOTES}]([^{_QUOTES}\\n]+)[{_QUOTES}]")
_BARE_PATH = re.compile(r"(?:^|[\s:])(\.?\.?/?[\w.@+-]*/[^\s:'\"]*|\.[\w.-]+)")


@dataclass(frozen=True)
class Refusal:
    """One thing the sandbox refused, in words an agent can act on."""

    kind: str
    """``protected-write``, ``outside-write``, ``hidden-read`` or ``network``."""
    path: str | None
    message: str


def find_refusals(stderr_tail: bytes, profile: SandboxProfile) -> list[Refusal]:
    """Return what the sandbox most likely refused, judged from the command's stderr.

    The lines are the command's to write: none of them makes this raise.
    """
    found: dict[tuple[str, str | None], Refusal] = {}
    for line in stderr_tail.decode(errors="replace").splitlines():
        try:
            refusal = _classify(line, profile)
        except (OSError, ValueError, RecursionError):
            # A path the command printed that the host cannot look at (a
            # /proc entry, a NUL, a name too long): no hint, never a failure.
            continue
        if refusal is not None:
            found.setdefault((refusal.kind, refusal.path), refusal)
        if len(found) >= MAX_REFUSALS:
            break
    return list(found.values())


def _classify(line: str, profile: SandboxProfile) -> Refusal | None:
    if _NETWORK_DENIED.search(line) and profile.network is not NetworkMode.ONLINE:
        return Refusal(
            "network",
            None,
            f"the network is {profile.network} for this command, so the connection "
            "was refused by the sandbox; if the command needs the network, ask a "
            "person to allow it in policy (network.mode) and rerun",
        )
    if _EXISTS.search(line):
        return _judge_creation(line, profile)
    write = bool(_WRITE_DENIED.search(line))
    if not write and not _ACCESS_DENIED.search(line):
        return None
    for path in _paths_in(line):
        refusal = _judge_path(path, profile, write=write)
        if refusal is not None:
            return refusal
    return None


def _judge_creation(line: str, profile: SandboxProfile) -> Refusal | None:
    for text in _paths_in(line):
        path = Path(text)
        absolute = path if path.is_absolute() else profile.workspace / path
        protected = _protected_name(absolute, profile)
        if protected is not None:
            return _protected_refusal(text, protected)
    return None


def _protected_refusal(text: str, protected: str) -> Refusal:
    return Refusal(
        "protected-write",
        text,
        f"{text} is inside the protected path {protected}, which stays read-only "
        "in the sandbox (and cannot be created there) because tools outside it "
        "read it as instructions or code; leave it unchanged, or ask a person "
        "to make the change",
    )


def _paths_in(line: str) -> Iterable[str]:
    for match in _QUOTED_PATH.finditer(line):
        if match.group(1):
            yield match.group(1)
    for match in _BARE_PATH.finditer(line):
        yield match.group(1)


def _judge_path(text: str, profile: SandboxProfile, *, write: bool) -> Refusal | None:
    path = Path(text)
    absolute = path if path.is_absolute() else profile.workspace / path
    if _is_hidden(path, absolute, profile):
        return Refusal(
            "hidden-read",
            text,
            f"{text} is hidden from sandboxed commands (it holds credentials "
            "or corral's own records); do the task without it, or ask a person",
        )
    protected = _protected_name(absolute, profile)
    if protected is not None:
        return _protected_refusal(text, protected)
    if any(absolute.is_relative_to(root) for root in profile.writable_roots):
        return None
    qualifier = "" if write else "if this was a write: "
    if not profile.writable_roots:
        return Refusal(
            "outside-write",
            text,
            f"{qualifier}this command runs read-only: nothing but /tmp is "
            f"writable, {text} included; write under /tmp, or ask a person to "
            "run it with a writable workspace",
        )
    roots = ", ".join(str(root) for root in profile.writable_roots)
    return Refusal(
        "outside-write",
        text,
        f"{qualifier}{text} is outside the writable roots ({roots}); write inside "
        "the workspace or /tmp instead, or ask a person to add a writable root",
    )


def _is_hidden(path: Path, absolute: Path, profile: SandboxProfile) -> bool:
    """Tell whether a printed path names a hidden one, however it was spelled.

    The program may have reached it through a link (compared once resolved on
    the host) or printed it relative to a directory of its own, such as the
    home directory (a relative path that is nothing in the workspace matches
    a hidden path ending with its first components).
    """
    candidates = {absolute, Path(os.path.realpath(absolute))}
    elsewhere = not path.is_absolute() and not os.path.lexists(absolute)
    for hidden in profile.hidden:
        for name in (hidden.path, *hidden.aliases):
            if any(c == name or c.is_relative_to(name) for c in candidates):
                return True
            if elsewhere and _starts_where_ends(path, name):
                return True
    return False


def _starts_where_ends(relative: Path, name: Path) -> bool:
    """Tell whether `relative` begins with the last components of `name`."""
    parts = relative.parts
    return any(
        parts[:count] == name.parts[-count:]
        for count in range(1, min(len(parts), len(name.parts) - 1) + 1)
    )


def _protected_name(path: Path, profile: SandboxProfile) -> str | None:
    if not path.is_relative_to(profile.workspace):
        return None
    relative = path.relative_to(profile.workspace)
    if profile.git_write and ".git" in relative.parts[:-1]:
        # Only parts of a git directory stay read-only then: name the part.
        return str(Path(*relative.parts[: relative.parts.index(".git") + 2]))
    for entry in profile.protected_entries:
        name = entry.rstrip("/")
        if relative == Path(name) or relative.is_relative_to(name):
            return name
    if ".git" in relative.parts:
        return str(Path(*relative.parts[: relative.parts.index(".git") + 1]))
    return None
