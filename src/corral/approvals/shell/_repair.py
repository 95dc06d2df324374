"""Same-length rewrites of the text tree-sitter parses, where its grammar misreads bash.

The tree is built from the rewritten text while every word is still read from
the original, so offsets, and the lines and columns counted from them, stay
those of the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tree_sitter import Node

__all__ = [
    "blank",
    "end_commands",
    "fill",
    "joined_comments",
    "misread_heredocs",
    "misread_read_writes",
    "misread_strings",
    "read_write",
]

# A `#` that may continue a word: after a line continuation, an escaped blank,
# or a character bash keeps in words but tree-sitter skips as space.
_JOINED_HASH = re.compile(rb"(?:\\\n|\\[ \t]|[\v\f\r])#")
# Bytes after which a `#` starts a comment: blanks and the shell's operators.
_BREAKS = frozenset(b" \t\n;&|()<>")


def misread_strings(root: Node, src: bytes) -> list[tuple[int, int]]:
    """Return the ``$'...'`` strings tree-sitter ended in the wrong place.

    Its token runs on past ``\\\\'`` (an escaped backslash, then the closing
    quote) to a later quote, swallowing whatever commands stand between.
    Each is returned as the span of its inside, as bash reads it.
    """
    if b"\\\\'" not in src:
        return []
    misread = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ansi_c_string":
            end = _ansi_c_end(src, node.start_byte)
            if end != node.end_byte:
                misread.append((node.start_byte + 2, end - 1))
        elif node.child_count:
            stack.extend(node.children)
    return misread


def misread_heredocs(root: Node, src: bytes) -> list[tuple[int, int]]:
    """Return the backslashes that start a here-document tree-sitter misread.

    When the body's first line starts with a backslash, tree-sitter takes that
    line for arguments of the command.  The backslashes are returned as spans
    to `fill`: the body is read from the original text all the same.
    """
    if b"<<" not in src or b"\n\\" not in src:
        return []
    misread = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "heredoc_redirect":
            start = next((c for c in node.children if c.type == "heredoc_start"), None)
            line_end = src.find(b"\n", start.end_byte) if start is not None else -1
            body = line_end + 1
            if line_end >= 0 and src[body : body + 1] == b"\\":
                end = body
                while src[end : end + 1] == b"\\":
                    end += 1
                misread.append((body, end))
        elif node.child_count:
            stack.extend(node.children)
    return misread


def misread_read_writes(root: Node, parsed: bytes) -> list[int]:
    """Return where the ``<>`` redirections tree-sitter misread start.

    Its grammar has no ``<>`` (open for reading and writing): it reads an
    error where the ``<`` or the ``>`` stands.  ``>|`` in its place is read as
    one operator, and the redirection reader reads the operator from the
    original text.
    """
    if b"<>" not in parsed:
        return []
    found: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            start = node.start_byte
            if parsed[start : start + 2] == b"<>":
                found.add(start)
            elif start and parsed[start - 1 : start + 1] == b"<>":
                found.add(start - 1)
        if node.has_error:
            stack.extend(node.children)
    return sorted(found)


def read_write(parsed: bytes, offsets: Iterable[int]) -> bytes:
    """Return `parsed` with ``>|`` for the ``<>`` at each of `offsets`."""
    out = bytearray(parsed)
    for offset in offsets:
        out[offset : offset + 2] = b">|"
    return bytes(out)


def joined_comments(root: Node, src: bytes) -> list[Node]:
    """Return the comments tree-sitter saw where bash sees no comment at all.

    A ``#`` starts a comment only at the start of a word.  bash removes each
    backslash-newline before it reads words, and keeps an escaped blank in its
    word, so in ``a\\<newline>#b; c`` and ``\\ #b; c`` the ``#`` is inside a
    word and ``c`` runs; tree-sitter reads a comment there and hides ``c``.
    """
    if not _JOINED_HASH.search(src):
        return []
    joined = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            if _continues_word(src, node.start_byte):
                joined.append(node)
        elif node.child_count:
            stack.extend(node.children)
    return joined


def _continues_word(src: bytes, start: int) -> bool:
    """Whether bash reads the ``#`` at `start` as part of the word before it."""
    while src[start - 2 : start] == b"\\\n":
        start -= 2
    if start == 0:
        return False
    if src[start - 1] not in _BREAKS:
        return True
    backslashes = 0
    while start - 2 - backslashes >= 0 and src[start - 2 - backslashes] == 0x5C:
        backslashes += 1
    return src[start - 1] in b" \t" and backslashes % 2 == 1


def _ansi_c_end(src: bytes, start: int) -> int:
    """Return where the ``$'...'`` string starting at `start` ends, as bash reads it."""
    i = start + 2
    while i < len(src):
        if src[i] == 0x5C:  # a backslash escapes the byte after it, a quote too
            i += 2
        elif src[i] == 0x27:
            return i + 1
        else:
            i += 1
    return len(src)


def fill(parsed: bytes, spans: Iterable[tuple[int, int]]) -> bytes:
    """Return `parsed` with each span's bytes made a plain letter, newlines kept.

    Newlines stay so that lines and columns do not move.
    """
    out = bytearray(parsed)
    for start, end in spans:
        for i in range(start, end):
            if out[i] != 0x0A:
                out[i] = 0x61
    return bytes(out)


def blank(parsed: bytes, spans: Iterable[tuple[int, int]]) -> bytes:
    """Return `parsed` with each span replaced by spaces."""
    out = bytearray(parsed)
    for start, end in spans:
        out[start:end] = b" " * (end - start)
    return bytes(out)


def end_commands(parsed: bytes, newlines: Iterable[int]) -> bytes:
    """Return `parsed` with a ``;`` for each newline at the given offsets."""
    out = bytearray(parsed)
    for offset in newlines:
        out[offset] = 0x3B
    return bytes(out)
