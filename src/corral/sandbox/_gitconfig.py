"""Read a git config file as git reads it, to find the paths it makes git use.

``core.hooksPath`` names the hooks git runs and ``include.path`` /
``includeIf.*.path`` the files it reads as more configuration; `_protected`
keeps those read-only when they lie in a writable root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from corral.errors import WorkspaceError

__all__ = ["HOOKS_PATH", "expand_path", "is_include", "read_config"]

# Parsed here rather than by running ``git config --file``: the git on the
# caller's PATH may be a file the sandboxed command wrote, and nothing of the
# workspace may run on the host.  The rules follow git's own parser; a file it
# would reject is refused, as git itself would stop on it.
HOOKS_PATH = "core.hookspath"

_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\n\v\f\r"
_ESCAPES = {ord("t"): b"\t", ord("b"): b"\b", ord("n"): b"\n", ord("\\"): b"\\"}
_ESCAPES[ord('"')] = b'"'


def read_config(file: Path) -> list[tuple[str, str | None]]:
    """Return the ``(section.key, value)`` pairs of `file`, names lower-cased as git.

    A key without ``=`` has the value None.  Raises `WorkspaceError` when the
    file is malformed.
    """
    try:
        data = file.read_bytes()
    except OSError:
        return []  # git cannot read it either
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return _Parser(data.replace(b"\r\n", b"\n")).entries()
    except ValueError as exc:
        raise WorkspaceError(
            f"cannot read the git config {file}: {exc}; corral must see every hook "
            "and included file it names; fix the file (git would refuse it too) "
            "and retry"
        ) from exc


def is_include(key: str) -> bool:
    """Tell whether `key` names a file git reads as more configuration."""
    return key == "include.path" or (
        key.startswith("includeif.") and key.endswith(".path")
    )


def expand_path(value: str) -> str | None:
    """Return `value` with ``~`` expanded as git expands it; None if git uses none.

    ``%(prefix)/`` names git's own installation, never a workspace; git stops
    on a ``~user`` it cannot expand.
    """
    if value.startswith("%(prefix)/"):
        return None
    if not value.startswith("~"):
        return value
    try:
        return str(Path(value).expanduser())
    except RuntimeError:
        return None


# What the parser skips or takes in runs rather than byte by byte: every run
# reads each repository's config and the user's, often a few kilobytes.
_BLANKS = re.compile(rb"[ \t\n\v\f\r]+")
_KEY = re.compile(rb"[A-Za-z0-9-]*")
_PLAIN = re.compile(rb'[^ \t\n\v\f\r"\\#;]+(?:[ \t\v\f\r]+[^ \t\n\v\f\r"\\#;]+)*')
"""A run of value bytes outside quotes that stand for themselves: the spaces
within it too, as only those at its end are cut."""
_PLAIN_QUOTED = re.compile(rb'[^\n"\\]+')
"""Likewise inside quotes, where spaces and comment marks do too."""
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_KEY_CHARS = _LETTERS | frozenset(b"0123456789-")
_SECTION_CHARS = _KEY_CHARS | frozenset(b".")


class _Parser:
    """git's config grammar: sections, quoted subsections, keys, quoted values."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _next(self) -> int:
        """Return the next byte; the end reads as a line end, as in git."""
        if self.at >= len(self.data):
            self.at += 1
            return ord("\n")
        self.at += 1
        return self.data[self.at - 1]

    def _ended(self) -> bool:
        return self.at > len(self.data)

    def _skip_line(self) -> None:
        """Move to the end of the line (its line end is read next)."""
        end = self.data.find(b"\n", self.at)
        self.at = len(self.data) if end < 0 else end

    def entries(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        section = ""
        while True:
            blanks = _BLANKS.match(self.data, self.at)
            if blanks is not None:
                self.at = blanks.end()
            c = self._next()
            if self._ended():
                return found
            if c in b"#;":
                self._skip_line()
            elif c == ord("["):
                section = self._section()
            elif c in _LETTERS and section:
                key, value = self._entry(c)
                found.append((f"{section}.{key}", value))
            else:
                raise ValueError(f"unexpected {chr(c)!r} at byte {self.at}")

    def _section(self) -> str:
        name = bytearray()
        while True:
            c = self._next()
            if self._ended() or c == ord("\n"):
                raise ValueError("unterminated section header")
            if c == ord("]"):
                return name.decode().lower()
            if c in _SPACE:
                return name.decode().lower() + "." + self._subsection()
            if c not in _SECTION_CHARS:
                raise ValueError(f"bad section name character {chr(c)!r}")
            name.append(c)

    def _subsection(self) -> str:
        c = self._next()
        while c in _SPACE and c != ord("\n"):
            c = self._next()
        if c != ord('"'):
            raise ValueError("bad subsection: expected a quote")
        name = bytearray()
        while (c := self._next()) != ord('"'):
            if c == ord("\\"):
                c = self._next()
            if c == ord("\n"):
                raise ValueError("unterminated subsection")
            name.append(c)
        if self._next() != ord("]"):
            raise ValueError("bad subsection: expected ]")
        return os.fsdecode(bytes(name))

    def _entry(self, first: int) -> tuple[str, str | None]:
        rest = _KEY.match(self.data, self.at)
        key = chr(first) + rest.group().decode() if rest else chr(first)
        self.at = rest.end() if rest else self.at
        c = self._next()
        while c in b" \t":
            c = self._next()
        if c == ord("\n"):
            return key.lower(), None
        if c != ord("="):
            raise ValueError(f"bad config line for {key!r}")
        return key.lower(), self._value()

    def _value(self) -> str:
        value = bytearray()
        quoted = False
        trim = 0
        while True:
            plain = (_PLAIN_QUOTED if quoted else _PLAIN).match(self.data, self.at)
            if plain is not None:
                value += plain.group()
                self.at = plain.end()
                trim = 0
            c = self._next()
            if c == ord("\n"):
                if quoted:
                    raise ValueError("unterminated quote")
                return os.fsdecode(bytes(value[:trim] if trim else value))
            if c in _SPACE and not quoted:
                trim = trim or len(value)
                if value:
                    value.append(c)
                continue
            if not quoted and c in b"#;":
                self._skip_line()  # a comment, to the line end
                continue
            trim = 0
            if c == ord("\\"):
                c = self._next()
                if c == ord("\n"):
                    continue  # a continued line
                if c not in _ESCAPES:
                    raise ValueError(f"bad escape \\{chr(c)!r}")
                value += _ESCAPES[c]
            elif c == ord('"'):
                quoted = not quoted
            else:
                value.append(c)
