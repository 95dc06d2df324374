"""Shell words as bash will expand them: quotes, escapes, tilde, globs and braces.

`WordReader` turns the tree-sitter nodes of one word into a `Word`: its value
when the text alone decides it, else its source text marked DYNAMIC.  Finding
a substitution inside a word is left to the subclass, which walks the commands
in it (`WordReader.nested`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tree_sitter import Node

from corral.approvals._model import Word, WordKind
from corral.approvals.shell._escapes import EscapeMode, decode_escapes
from corral.approvals.shell._expand import (
    Piece,
    expand_tildes,
    has_brace_expansion,
    has_glob,
    split_chars,
)
from corral.approvals.shell._numbers import Numbers
from corral.approvals.shell._scan import Scanner
from corral.approvals.shell._source import (
    SUBSTITUTIONS,
    Where,
    token_after,
    token_before,
    word_parts,
)

__all__ = [
    "HEREDOC_ESCAPES",
    "SUBSTITUTIONS",
    "Pieces",
    "Where",
    "WordReader",
]


_EXPANDS = {
    Where.ARGUMENT: True,
    Where.ASSIGNMENT: False,
    Where.REDIRECT: True,
    Where.HERESTRING: False,
}


# Characters that give unquoted text a meaning beyond itself.
_UNQUOTED_SPECIAL = re.compile(r"[\\$`'\" \t\n]")
# Characters that make an unquoted word more than its own text.
_PLAIN = re.compile(r"[^\\$`'\"~*?\[{( \t\n\v\f\r]*")
# What may follow `$` to start an expansion rather than stand for itself.
_EXPANSION_START = frozenset(
    "{(_@*#?$!-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_QUOTED = frozenset({"raw_string", "string", "translated_string", "ansi_c_string"})
# Escapes a backslash makes inside double quotes, and inside an unquoted here-document.
_DQ_ESCAPES = frozenset('$`"\\\n')
HEREDOC_ESCAPES = frozenset("$`\\\n")
# What tree-sitter skips between tokens that bash reads as part of a word.
_LOOSE = re.compile(rb"\\[ \t\v\f\r]|[\v\f\r]")


class Pieces:
    """The pieces of one word as they are read, and whether any is dynamic."""

    __slots__ = ("braces", "dynamic", "parts")

    def __init__(self) -> None:
        self.parts: list[Piece] = []
        self.dynamic = False
        self.braces = False
        """Whether tree-sitter saw a brace expression (``{1..3}``) in the word."""


class WordReader(Scanner):
    """Reads words from a parsed script; subclasses walk what substitutions run."""

    def __init__(self, src: bytes, errors: str, home: str | None) -> None:
        super().__init__(src, errors)
        # A script that names HOME may change it before a tilde is expanded.
        self.home = None if b"HOME" in src else home
        self.loose = _LOOSE.search(src) is not None
        """Whether the text has characters tree-sitter skips but bash keeps."""
        self._numbers: Numbers | None = None
        """Where the script surely gives a name a number, found on the first read."""
        self._names: dict[int, frozenset[int]] = {}
        """For each command taking variables' names, by where it starts, where
        the words it takes as names start."""

    # Words.

    def word(self, nodes: Sequence[Node], where: Where) -> Word:
        """Return the word written as the adjacent `nodes` in the `where` position."""
        self._name_operand(nodes, where)
        start, end = nodes[0].start_byte, nodes[-1].end_byte
        if self.loose:
            start, end = self._extend_back(nodes[0]), self._extend_forward(nodes[-1])
        if len(nodes) == 1 and nodes[0].type == "word" and not self.loose:
            raw = self.text(start, end)
            if _PLAIN.fullmatch(raw):
                return Word(raw)
        pieces = Pieces()
        self._add_all(nodes, pieces, start, end)
        return self._finish(pieces, where, start, end)

    def _add_all(
        self,
        nodes: Sequence[Node],
        pieces: Pieces,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        """Add adjacent `nodes` to `pieces`; the text between them is unquoted."""
        position = nodes[0].start_byte if start is None else start
        for i, node in enumerate(nodes):
            if node.start_byte > position:
                self._unquoted(self.text(position, node.start_byte), node, pieces)
            position = node.end_byte
            if node.type == "$" and not node.is_named:
                # `$"..."` is a translated string, read as if the `$` were not
                # there; the token may hold more than the `$` (`\$`, `-$`).
                following = nodes[i + 1] if i + 1 < len(nodes) else None
                text = self.node_text(node)
                prefix = text[:-1]
                escaped = (len(prefix) - len(prefix.rstrip("\\"))) % 2 == 1
                if (
                    following is not None
                    and following.start_byte == node.end_byte
                    and _starts_with_string(following)
                    and text.endswith("$")
                    and not escaped
                ):
                    text = prefix
                self._unquoted(text, node, pieces)
                continue
            self._add(node, pieces)
        if end is not None and end > position:
            self._unquoted(self.text(position, end), nodes[-1], pieces)

    # What tree-sitter skips as if it were space: escaped blanks (``\ a``), and
    # vertical tab, form feed and carriage return, which bash keeps in words.

    def _extend_back(self, node: Node) -> int:
        """Return where the word starting with `node` starts, escapes included."""
        before = token_before(node)
        low = before.end_byte if before is not None else 0
        parts = word_parts(self.src[low : node.start_byte])
        if parts and parts[-1][1] == node.start_byte - low:
            return low + parts[-1][0]
        return node.start_byte

    def _extend_forward(self, node: Node) -> int:
        """Return where the word ending with `node` ends, escapes included."""
        after = token_after(node)
        high = after.start_byte if after is not None else len(self.src)
        parts = word_parts(self.src[node.end_byte : high])
        if parts and parts[0][0] == 0:
            return node.end_byte + parts[0][1]
        return node.end_byte

    def _add(self, node: Node, pieces: Pieces) -> None:
        """Add one node of a word to `pieces`."""
        kind = node.type
        if kind in ("word", "number", "extglob_pattern", "regex"):
            self._unquoted(self.node_text(node), node, pieces)
        elif kind in _QUOTED:
            self._quoted_string(node, pieces)
        elif kind == "concatenation":
            self._add_all(node.children, pieces)
        elif kind in SUBSTITUTIONS:
            pieces.dynamic = True
            self.nested(node)
        elif kind in ("simple_expansion", "expansion", "arithmetic_expansion"):
            pieces.dynamic = True
            self.scan(node, arithmetic=kind == "arithmetic_expansion")
        elif kind == "brace_expression":
            pieces.parts.append((self.node_text(node), False))
            pieces.braces = True
        elif kind == "``":
            # tree-sitter reads `a` `b` as one substitution holding "a` `b".
            pieces.dynamic = True
            self.note(f"cannot parse the backquotes at {self.where(node)}")
        else:
            pieces.dynamic = True
            if kind != "ERROR":  # syntax errors are reported on their own
                self.note(f"cannot model a {kind} in a word at {self.where(node)}")
            self.scan(node)

    def _quoted_string(self, node: Node, pieces: Pieces) -> None:
        """Add a quoted string: ``'...'``, ``"..."``, ``$"..."`` or ``$'...'``."""
        kind = node.type
        if kind == "raw_string":
            text = self.node_text(node)
            pieces.parts.append((text[1:-1] if len(text) > 1 else "", True))
        elif kind == "string":
            self.string(node, pieces, _DQ_ESCAPES)
        elif kind == "translated_string":
            for child in node.named_children:
                self._add(child, pieces)
        else:
            self._ansi_c(node, pieces)

    def _ansi_c(self, node: Node, pieces: Pieces) -> None:
        """Add a ``$'...'`` string: escapes decoded, cut at a NUL as bash cuts it."""
        text = self.node_text(node)
        decoded = None
        if text.startswith("$'") and text.endswith("'") and len(text) > 2:
            decoded = decode_escapes(text[2:-1], EscapeMode.ANSI_C)
        if decoded is None:
            pieces.dynamic = True
            return
        pieces.parts.append((decoded[0].split("\0", 1)[0], True))

    def string(self, node: Node, pieces: Pieces, escapes: frozenset[str]) -> None:
        """Add a double-quoted string or here-document body, walking what it expands."""
        children = node.children
        position, end = node.start_byte, node.end_byte
        if children and children[0].type == '"':
            position = node.start_byte + 1
            children = children[1:]
        if children and children[-1].type == '"' and not children[-1].is_missing:
            end = node.end_byte - 1  # the token may hold the space before it too
            children = children[:-1]
        pending: list[str] = []
        for child in children:
            if child.start_byte > position:
                pending.append(self.text(position, child.start_byte))
            position = max(position, child.end_byte)
            if (
                child.type in ("string_content", "heredoc_content")
                or not child.is_named
            ):
                pending.append(self.node_text(child))
                continue
            self.quoted("".join(pending), child, pieces, escapes)
            pending.clear()
            self._add(child, pieces)
        if end > position:
            pending.append(self.text(position, end))
        self.quoted("".join(pending), node, pieces, escapes)

    def quoted(
        self, raw: str, node: Node, pieces: Pieces, escapes: frozenset[str]
    ) -> None:
        """Add `raw` text read inside double quotes, backslashes resolved."""
        if not raw:
            pieces.parts.append(("", True))  # even "" quotes: ~"" is not expanded
            return
        out: list[str] = []
        i = 0
        while True:
            j = _next_special(raw, i)
            out.append(raw[i:j])
            if j >= len(raw):
                break
            c = raw[j]
            nxt = raw[j + 1] if j + 1 < len(raw) else ""
            i = j + 1
            if c == "\\" and nxt in escapes:
                out.append("" if nxt == "\n" else nxt)
                i += 1
            elif (c == "$" and nxt in _EXPANSION_START) or c == "`":
                self._hidden(c, nxt, node, pieces)
                out.append(c)
            else:
                out.append(c)
        pieces.parts.append(("".join(out), True))

    def _unquoted(self, raw: str, node: Node, pieces: Pieces) -> None:
        """Add unquoted `raw` text: each backslash quotes the character after it."""
        if not _UNQUOTED_SPECIAL.search(raw):
            pieces.parts.append((raw, False))
            return
        i = 0
        while i < len(raw):
            j = _next_special(raw, i, "\\$`'\" \t\n")
            if j > i:
                pieces.parts.append((raw[i:j], False))
            if j >= len(raw):
                break
            c = raw[j]
            nxt = raw[j + 1] if j + 1 < len(raw) else ""
            i = j + 1
            if c == "\\" and nxt:
                if nxt != "\n":
                    pieces.parts.append((nxt, True))
                i += 1
            elif (c == "$" and nxt in _EXPANSION_START) or c == "`":
                self._hidden(c, nxt, node, pieces)
            elif c in "'\"":
                pieces.dynamic = True  # a quote tree-sitter left inside a word
            elif c in " \t\n":
                pieces.dynamic = True
                self.note(
                    f"cannot model the word at {self.where(node)}: it holds blanks"
                )
            else:
                pieces.parts.append((c, False))

    def _hidden(self, c: str, nxt: str, node: Node, pieces: Pieces) -> None:
        """An expansion inside text tree-sitter read as plain: the word is dynamic."""
        pieces.dynamic = True
        if c == "`" or nxt == "(":
            self.note(f"cannot see into the substitution at {self.where(node)}")

    # Expansions that the text alone decides.

    def _finish(self, pieces: Pieces, where: Where, start: int, end: int) -> Word:
        """Return the word `pieces` make, after tilde, brace and glob checks."""
        expands = _EXPANDS[where]
        if pieces.dynamic or (pieces.braces and expands):
            return Word(self.text(start, end), WordKind.DYNAMIC)
        chars = split_chars(pieces.parts)
        if any(c == "~" and not quoted for c, quoted in chars):
            expanded = expand_tildes(
                chars,
                self.home,
                assignment=where is Where.ASSIGNMENT,
                argument=where is Where.ARGUMENT,
            )
            if expanded is None:
                return Word(self.text(start, end), WordKind.DYNAMIC)
            chars = expanded
        value = "".join(c for c, _ in chars)
        if not expands:
            return Word(value)
        if has_brace_expansion(chars):
            return Word(self.text(start, end), WordKind.DYNAMIC)
        if has_glob(chars):
            return Word(value, WordKind.GLOB)
        return Word(value)


def _next_special(raw: str, start: int, specials: str = "\\$`") -> int:
    """Return the index of the next of `specials` in `raw`, else its length."""
    best = len(raw)
    for c in specials:
        found = raw.find(c, start, best)
        if found >= 0:
            best = found
    return best


def _starts_with_string(node: Node) -> bool:
    """Whether `node` begins with a double-quoted string (``"a"b`` does)."""
    while node.type == "concatenation" and node.child_count:
        node = node.children[0]
    return node.type == "string"
