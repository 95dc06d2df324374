"""Redirections, here-documents and here-strings, read from the parse tree.

tree-sitter-bash hangs what follows a here-document's first line (``| bash``,
``&& next``, more redirections) inside the here-document node, and takes the
words after a redirection's file for more files; `RedirectReader.plan` sorts
these back into what bash does with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tree_sitter import Node

from corral.approvals._model import Redirect, Word, WordKind, is_descriptor
from corral.approvals.shell._source import token_after, token_before, word_parts
from corral.approvals.shell._words import HEREDOC_ESCAPES, Pieces, Where, WordReader

__all__ = ["Plan", "RedirectReader"]

# Operators that point a descriptor (stdin unless one is written) at something new.
_INPUT_OPERATORS = frozenset({"<", "<>", "<&", "<&-"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
# The parts of a here-document node that are the here-document itself.
_HEREDOC_PARTS = frozenset(
    {"heredoc_start", "heredoc_body", "heredoc_end", "file_descriptor"}
)


@dataclass
class Plan:
    """The redirections of one command, and what tree-sitter hung on them."""

    redirects: list[tuple[Node, list[Node]]] = field(default_factory=list)
    """Each redirection with the nodes of the word it names."""
    extras: list[Node] = field(default_factory=list)
    """Words written after a redirection's file: more arguments of the command."""
    orphans: list[list[Node]] = field(default_factory=list)
    """Words after a syntax error inside a redirection: a command of their own."""
    continuations: list[tuple[str, Node]] = field(default_factory=list)
    """``("pipe", pipeline)`` or ``("list", statement)`` after a here-document."""
    end: int = 0
    """Where the last of these redirections ends, here-document bodies aside."""


class RedirectReader(WordReader):
    """Reads redirections into `Redirect`s and what they put on stdin."""

    REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})

    def groups(self, nodes: Sequence[Node]) -> list[list[Node]]:
        """Split word nodes into words: nodes with no blank between are one word.

        That includes a backslash-newline or an escaped blank between them,
        which tree-sitter skips as if it were space.
        """
        groups: list[list[Node]] = []
        for node in nodes:
            if groups and self._touches(groups[-1][-1], node):
                groups[-1].append(node)
            else:
                groups.append([node])
        return groups

    def words(self, nodes: Sequence[Node], where: Where) -> list[Word]:
        """Return the words `nodes` make, and any tree-sitter skipped among them."""
        groups = self.groups(nodes)
        if not self.loose:
            return [self.word(g, where) for g in groups]
        words: list[Word] = []
        for i, group in enumerate(groups):
            first = group[0]
            before = token_before(first)
            low = before.end_byte if before is not None else 0
            if i and _same(before, groups[i - 1][-1]):
                words.extend(self._skipped(low, first.start_byte))
            else:
                if i:
                    words.extend(self._trailing(groups[i - 1][-1]))
                words.extend(
                    self._skipped(low, first.start_byte, _in_command(before), True)
                )
            words.append(self.word(group, where))
        if groups:
            words.extend(self._trailing(groups[-1][-1]))
        return words

    def _trailing(self, last: Node) -> list[Word]:
        """Return the words tree-sitter skipped after `last`, up to the next token."""
        after = token_after(last)
        high = after.start_byte if after is not None else len(self.src)
        return self._skipped(last.end_byte, high, True, _in_command(after))

    def _touches(self, before: Node, after: Node) -> bool:
        gap = self.src[before.end_byte : after.start_byte]
        if not self.loose:
            return gap == b"\\\n" * (len(gap) // 2)
        return word_parts(gap) == [(0, len(gap))] or not gap

    def _skipped(
        self, start: int, end: int, word_before: bool = True, word_after: bool = True
    ) -> list[Word]:
        """Return the command's words tree-sitter skipped in a gap (``a \\  b``).

        A piece touching a word's token belongs to that word, not to itself.
        A newline ends a command: when the token after the gap is not a word
        of this command (`word_after` False) only pieces before the first
        newline are the command's, and when the token before is not
        (`word_before` False) only those after the last.
        """
        gap = self.src[start:end]
        newlines = [i for i in range(len(gap)) if gap[i] == 0x0A and _unescaped(gap, i)]
        low_cut = newlines[-1] + 1 if newlines and not word_before else 0
        high_cut = newlines[0] if newlines and not word_after else len(gap)
        words = []
        for low, high in word_parts(gap):
            if (low == 0 and word_before) or (high == len(gap) and word_after):
                continue
            if low < low_cut or high > high_cut:
                continue
            value = _ESCAPE.sub(_unescape, self.text(start + low, start + high))
            if value:
                words.append(Word(value))
        return words

    def plan(self, nodes: Sequence[Node]) -> Plan:
        """Sort redirection nodes into a `Plan`."""
        plan = Plan()
        for node in nodes:
            plan.end = max(plan.end, node.start_byte)
            if node.type == "heredoc_redirect":
                self._plan_heredoc(node, plan)
            else:
                self._plan_redirect(node, plan)
        return plan

    def _plan_redirect(self, node: Node, plan: Plan) -> None:
        targets: list[Node] = []
        after_error: list[Node] | None = None
        for i, child in enumerate(node.children):
            if child.type == "ERROR":
                after_error = []
                plan.orphans.append(after_error)
            elif after_error is not None:
                if child.is_named:
                    after_error.append(child)
            elif node.field_name_for_child(i) == "destination" or (
                node.type == "herestring_redirect"
                and child.is_named
                and child.type != "file_descriptor"
            ):
                targets.append(child)
            plan.end = max(plan.end, child.end_byte if after_error is None else 0)
        plan.orphans[:] = [o for o in plan.orphans if o]
        groups = self.groups(targets)
        plan.redirects.append((node, groups[0] if groups else []))
        for group in groups[1:]:
            plan.extras.extend(group)

    def _plan_heredoc(self, node: Node, plan: Plan) -> None:
        plan.redirects.append((node, []))
        for i, child in enumerate(node.children):
            kind = child.type
            name = node.field_name_for_child(i)
            if kind in self.REDIRECTS:
                self._plan_redirect(child, plan)
            elif name == "argument":
                plan.extras.append(child)
                plan.end = max(plan.end, child.end_byte)
            elif kind == "pipeline" and name is None:
                plan.continuations.append(("pipe", child))
            elif name == "right":
                plan.continuations.append(("list", child))
            elif kind == "heredoc_start":
                plan.end = max(plan.end, child.end_byte)
            elif child.is_named and kind not in _HEREDOC_PARTS and kind != "ERROR":
                self.note(f"cannot model a {kind} at {self.where(child)}")
                plan.continuations.append(("list", child))

    def evaluate(
        self, plan: Plan, stdin: Word | None
    ) -> tuple[list[Redirect], Word | None]:
        """Return the planned redirections and what the command reads on stdin."""
        redirects: list[Redirect] = []
        for node, targets in plan.redirects:
            fd: int | None = None
            operator = ""
            for child in node.children:
                if child.type == "file_descriptor":
                    text = self.node_text(child)
                    fd = int(text) if is_descriptor(text) else None
                elif not child.is_named and not operator and child.type != "$":
                    operator = child.type
                    if self.src[child.start_byte : child.end_byte] == b"<>":
                        operator = "<>"  # read from text repaired to `>|`
            reads_stdin = fd in (None, 0)
            if node.type == "heredoc_redirect":
                body = self._heredoc(node, operator == "<<-")
                redirects.append(Redirect("<<", body, fd))
                stdin = body if reads_stdin else stdin
            elif node.type == "herestring_redirect":
                word = self.word(targets, Where.HERESTRING) if targets else Word("")
                redirects.append(Redirect("<<<", word, fd))
                if reads_stdin:
                    stdin = (
                        Word(word.text + "\n")
                        if word.is_literal
                        else Word(word.text, WordKind.DYNAMIC)
                    )
            else:
                target = self.word(targets, Where.REDIRECT) if targets else Word("-")
                redirects.append(Redirect(operator, target, fd))
                if reads_stdin and operator in _INPUT_OPERATORS:
                    stdin = None
        return redirects, stdin

    def _heredoc(self, node: Node, strip_tabs: bool) -> Word:
        """Return a here-document's body: literal text unless it expands something."""
        start = body = None
        for child in node.children:
            if child.type == "heredoc_start":
                start = child
            elif child.type == "heredoc_body":
                body = child
        if body is None:
            return Word("")
        delimiter = self.node_text(start) if start is not None else ""
        raw = self.node_text(body)
        if any(c in delimiter for c in "'\"\\"):
            return Word(_strip_tabs(raw) if strip_tabs else raw)
        pieces = Pieces()
        if any(c.is_named and c.type != "heredoc_content" for c in body.children):
            self.string(body, pieces, HEREDOC_ESCAPES)
        else:
            text = _strip_tabs(raw) if strip_tabs else raw
            self.quoted(text, body, pieces, HEREDOC_ESCAPES)
        if pieces.dynamic:
            return Word(raw, WordKind.DYNAMIC)
        return Word("".join(text for text, _ in pieces.parts))


def _unescaped(text: bytes, i: int) -> bool:
    """Whether the byte at `i` has an even number of backslashes before it."""
    backslashes = 0
    while i - 1 - backslashes >= 0 and text[i - 1 - backslashes] == 0x5C:
        backslashes += 1
    return backslashes % 2 == 0


def _same(node: Node | None, other: Node) -> bool:
    return node is not None and node.byte_range == other.byte_range


def _in_command(node: Node | None) -> bool:
    """Whether `node`, next to a command's words, is a part of that command.

    Assignments and redirections are; operators, and other commands (after a
    newline, which tree-sitter keeps no node for), are not.
    """
    return node is not None and (
        node.type in ("variable_assignment", "command_name", "file_descriptor")
        or node.type.endswith("_redirect")
    )


def _unescape(match: re.Match[str]) -> str:
    return "" if match.group(1) == "\n" else match.group(1)


def _strip_tabs(text: str) -> str:
    """Remove the leading tabs of every line, as ``<<-`` does."""
    return "\n".join(line.lstrip("\t") for line in text.split("\n"))
