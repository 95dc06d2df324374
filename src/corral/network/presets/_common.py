"""What every preset shares: the result, the reading that builds it, the tool runner.

A `Reading` turns URLs and hosts into allow-list patterns and decides which
files and tools lie outside the writable roots, so that they may be trusted.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from corral._home import passwd_home
from corral._programs import beneath, find_program, trusted_search_path
from corral.network._names import DestinationError, destination

__all__ = [
    "TOOL_TIMEOUT",
    "WEB_PORTS",
    "Preset",
    "Reading",
    "ToolFailedError",
    "file_mode",
    "run_tool",
]

TOOL_TIMEOUT = 5.0
"""Seconds a tool may take to print a setting: it reads files and nothing else,
so a tool that takes longer is stuck, and the command must not wait on it."""

# The directory the tools run in: it holds no project file (.npmrc, pip.conf)
# that a sandboxed command could have written.
_NEUTRAL_CWD = "/"

WEB_PORTS = {"https": 443, "http": 80}

_USERINFO = re.compile(r"://\S*@")


@dataclass(frozen=True)
class Preset:
    """The allow-list patterns a tool's configuration names, and their sources."""

    name: str
    patterns: tuple[str, ...]
    """Pattern texts, each ``host:port`` (an IPv6 address in brackets)."""
    sources: tuple[str, ...]
    """Where the values were read: file paths, variable names, a tool's answer."""
    notes: tuple[str, ...]
    """What could not be read, or was left out, and why."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables that point the tool inside the sandbox at what the preset
    allows: its own configuration files are hidden there (they may hold
    credentials), and the host's variables are not passed."""


class Reading:
    """What one preset has found so far, and what it may trust."""

    def __init__(
        self, workspace: Path, environ: Mapping[str, str], writable: Sequence[Path]
    ) -> None:
        self.workspace = Path(os.path.normpath(workspace.absolute()))
        self.environ = environ
        self.roots = [self.workspace, *writable]
        self.home = _home(environ)
        self.patterns: dict[str, None] = {}
        self.sources: dict[str, None] = {}
        self.notes: list[str] = []
        self.environment: dict[str, str] = {}

    def note(self, text: str) -> None:
        self.notes.append(_redact(text))

    def add(self, host: str, port: int, source: str) -> None:
        """Allow `host` (a URL's host part) on `port`, read from `source`."""
        try:
            pattern = destination(host, port).authority()
        except DestinationError as exc:
            self.note(f"{source}: left out a host: {exc}")
            return
        self.patterns.setdefault(pattern)
        self.sources.setdefault(_redact(source))

    def add_url(self, url: str, source: str, ports: Mapping[str, int]) -> None:
        """Allow the host of `url`; a local path or ``file:`` URL allows nothing."""
        try:
            parts = urlsplit(url.strip())
            scheme = parts.scheme.lower()
            if scheme in ("", "file"):
                return
            port = parts.port
        except ValueError:
            self.note(f"{source}: left out a URL whose host or port cannot be read")
            return
        if scheme not in ports:
            self.note(
                f"{source}: left out a {scheme}: URL; a preset allows only "
                f"{', '.join(ports)} hosts"
            )
        elif not parts.hostname:
            self.note(f"{source}: left out a URL that names no host")
        else:
            self.add(parts.hostname, port or ports[scheme], source)

    def pass_on(self, name: str, value: str, source: str) -> None:
        """Set `name` for the sandboxed tool, unless `value` holds credentials."""
        if _USERINFO.search(value):
            self.note(
                f"{source}: not passed into the sandbox, since it holds "
                "credentials; the tool inside uses its default there"
            )
            return
        self.environment[name] = value

    def writable_root(self, path: Path) -> Path | None:
        """The writable root `path` lies beneath (a relative path: the workspace)."""
        if not path.is_absolute():
            return self.workspace
        return beneath(path, self.roots)

    def trusted_file(self, path: Path, what: str) -> bool:
        """Tell whether `path` exists and lies outside every writable root."""
        root, mode = self.writable_root(path), file_mode(path)
        if root is None:
            return mode is not None and stat.S_ISREG(mode)
        if mode is not None or not path.is_absolute():
            self.note(
                f"skipped {what} {path}: it lies in the writable root {root}, "
                "where a sandboxed command could have written it"
            )
        return False

    def search_path(self) -> list[str]:
        """The absolute ``PATH`` directories outside every writable root."""
        return trusted_search_path(self.environ, self.roots)

    def find_tool(self, name: str) -> str | None:
        """The first `name` on PATH that lies outside every writable root."""
        found = find_program(name, self.environ, avoid=self.roots)
        for skipped in found.skipped:
            self.note(f"skipped {skipped}")
        return found.path

    def expand_user(self, text: str) -> Path:
        """`text` with a leading ``~/`` read as the home the tools use."""
        if text.startswith("~/") and self.home is not None:
            return self.home / text[2:]
        return Path(text)

    def tool_environment(self, prefix: str) -> dict[str, str]:
        """`environ` with a safe PATH, less `prefix` variables naming writable paths."""
        env = dict(self.environ)
        env["PATH"] = os.pathsep.join(self.search_path())
        for key, value in self.environ.items():
            if not key.lower().startswith(prefix.lower()):
                continue
            if value.startswith(("/", "~")):
                root = self.writable_root(self.expand_user(value))
                if root is not None:
                    del env[key]
                    self.note(f"ignored {key}: it names a path in {root}")
        return env


class ToolFailedError(Exception):
    """A tool run to read a setting did not answer."""


def run_tool(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Return what `argv` prints; raises `ToolFailedError` saying why it did not.

    The tool runs in a process group of its own, killed whole on timeout, so
    that no child of it keeps the pipes open.
    """
    try:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=_NEUTRAL_CWD,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolFailedError(f"cannot run {argv[0]}: {exc}") from None
    with process:
        try:
            out, err = process.communicate(timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            # Not communicate(): a child that left the group may hold the
            # pipes open; closing them (leaving the block) and waiting for
            # the tool itself is bounded.
            process.wait()
            raise ToolFailedError(f"no answer within {TOOL_TIMEOUT:g} s") from None
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines() or ["no message"]
        raise ToolFailedError(f"exited with status {process.returncode}: {lines[-1]}")
    try:
        return out.decode()
    except UnicodeDecodeError:
        raise ToolFailedError(f"{argv[0]} printed what is not UTF-8") from None


def file_mode(path: Path) -> int | None:
    """The file mode of `path`, following links; None if it cannot be seen."""
    try:
        return path.stat().st_mode
    except OSError:
        return None  # absent, or in a directory this user cannot search


def _home(environ: Mapping[str, str]) -> Path | None:
    """The home directory the tools will expand ``~`` to."""
    home = environ.get("HOME", "")
    if home.startswith("/"):
        return Path(home)
    return passwd_home() if not home else None


def _redact(text: str) -> str:
    """`text` without the user information of any URL it quotes."""
    return _USERINFO.sub("://***@", text)
