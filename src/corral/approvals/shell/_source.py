"""The text behind a parse tree: its bytes as text, places, what cannot be modelled.

tree-sitter gives byte offsets; `Source` turns them into text and into the
``line L, column C`` a person reads, and collects the reasons the parser gives
for what it cannot model.  The functions below find what tree-sitter skipped
between two tokens as if it were space, though bash reads it as part of a word.
"""

from __future__ import annotations

import bisect
import enum

from tree_sitter import Node

__all__ = [
    "MAX_REASONS",
    "SUBSTITUTIONS",
    "Source",
    "Where",
    "token_after",
    "token_before",
    "word_parts",
]

MAX_REASONS = 32
"""Reasons past this many are summed up in one: a person reads the first few,
and a text with thousands of errors must not cost thousands of lines."""

_BLANKS = b" \t\n"
# Node types whose content runs commands; found wherever they are.
SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})


class Where(enum.Enum):
    """Where a word stands, which decides the expansions bash gives it."""

    ARGUMENT = "argument"
    """A command's word: tilde, brace and pathname expansion."""
    ASSIGNMENT = "assignment"
    """The value of ``NAME=value``: tilde after ``=`` and ``:``, no globs or braces."""
    REDIRECT = "redirect"
    """A redirection's file: tilde, brace and pathname expansion."""
    HERESTRING = "herestring"
    """The word after ``<<<``: tilde only."""


class Source:
    """The text a tree was parsed from, and the reasons noted while reading it."""

    def __init__(self, src: bytes, errors: str) -> None:
        self.src = src
        self.errors = errors
        """How text was encoded to `src`, and so how slices of it decode."""
        self.reasons: list[str] = []
        self._noted: set[str] = set()
        self._lines: list[int] | None = None
        """Where each newline of `src` is, found when a place is first asked."""

    def text(self, start: int, end: int) -> str:
        """Return the source between two byte offsets as text."""
        raw = self.src[start:end]
        try:
            return raw.decode("utf-8", self.errors)
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")

    def node_text(self, node: Node) -> str:
        """Return the source text of `node`."""
        return self.text(node.start_byte, node.end_byte)

    def where(self, node: Node) -> str:
        """Return ``line L, column C`` for the start of `node`, both from 1.

        Counted in the source itself: the text tree-sitter parsed may hold a
        ``;`` where the source has a newline (`_repair`).
        """
        if self._lines is None:
            self._lines = [i for i, byte in enumerate(self.src) if byte == 0x0A]
        row = bisect.bisect_left(self._lines, node.start_byte)
        line_start = self._lines[row - 1] + 1 if row else 0
        characters = len(self.text(line_start, node.start_byte))
        return f"line {row + 1}, column {characters + 1}"

    def note(self, reason: str) -> None:
        """Record something that cannot be modelled, once, up to MAX_REASONS."""
        if reason in self._noted:
            return
        self._noted.add(reason)
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)
        elif len(self.reasons) == MAX_REASONS:
            self.reasons.append("more that cannot be modelled, not shown")


def word_parts(gap: bytes) -> list[tuple[int, int]]:
    """Return where the pieces of words lie in `gap`, text between two tokens.

    Only unescaped blanks and newlines separate words; a piece touching an end
    of `gap` belongs to the word of the token there.
    """
    parts: list[tuple[int, int]] = []
    start: int | None = None
    i = 0
    while i < len(gap):
        if gap[i] in _BLANKS:
            if start is not None:
                parts.append((start, i))
                start = None
            i += 1
            continue
        if start is None:
            start = i
        i += 2 if gap[i] == 0x5C else 1
    if start is not None:
        parts.append((start, min(i, len(gap))))
    return parts


def token_before(node: Node) -> Node | None:
    """Return the node that ends where the text before `node` begins, if any."""
    while node.prev_sibling is None and node.parent is not None:
        node = node.parent
    return node.prev_sibling


def token_after(node: Node) -> Node | None:
    """Return the node that starts where the text after `node` ends, if any."""
    while node.next_sibling is None and node.parent is not None:
        node = node.parent
    return node.next_sibling
