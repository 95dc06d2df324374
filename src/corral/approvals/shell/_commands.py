"""Simple commands read from the parse tree: words, assignments, redirections.

`CommandReader` turns one simple command (or a compound command's own
redirections) into an `Invocation`, and feeds what it prints to whatever a
here-document's line pipes it into.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from tree_sitter import Node

from corral.approvals._model import Assignment, Invocation, Word
from corral.approvals.shell._assign import AssignmentReader
from corral.approvals.shell._output import stdout_of
from corral.approvals.shell._words import Where

__all__ = [
    "COMPOUND",
    "COMPOUND_STARTS",
    "SIMPLE",
    "CommandReader",
    "is_reserved",
    "stages_of",
]

# In [[ ]], these compare their operands as arithmetic expressions, so bash
# evaluates a variable's value there (a[$(cmd)] runs cmd).
_ARITHMETIC_TEST = re.compile(r"\s-(?:eq|ne|lt|le|gt|ge)\s")

# Statements that are one command each, and compound ones that hold statements.
SIMPLE = frozenset(
    {
        "command",
        "declaration_command",
        "unset_command",
        "test_command",
        "variable_assignment",
        "variable_assignments",
    }
)
COMPOUND = frozenset(
    {
        "subshell",
        "compound_statement",
        "if_statement",
        "while_statement",
        "for_statement",
        "c_style_for_statement",
        "case_statement",
        "function_definition",
    }
)
_EXPRESSIONS = frozenset(
    {
        "binary_expression",
        "unary_expression",
        "parenthesized_expression",
        "ternary_expression",
        "postfix_expression",
    }
)
# Words that bash reads as syntax where tree-sitter saw a command name: the
# grammar misread the text (``a | time { b; }``), so the parse cannot be trusted.
_RESERVED = frozenset(
    {"{", "}", "!", "[[", "]]", "if", "then", "elif", "else", "fi", "while"}
    | {"until", "do", "done", "for", "select", "case", "esac", "in", "function"}
    | {"coproc"}
)
# Reserved words that start a compound command (or another pipeline, `!`).
COMPOUND_STARTS = frozenset(
    {b"{", b"if", b"while", b"until", b"for", b"select", b"case", b"function"}
    | {b"[[", b"!"}
)


class CommandReader(AssignmentReader):
    """Reads simple commands into `Invocation`s, collected in source order."""

    def __init__(self, src: bytes, errors: str, home: str | None) -> None:
        super().__init__(src, errors, home)
        self.shallow = False
        """Set while salvaging: commands are collected without their structure."""
        self.deferred: list[Node] = []
        """Nodes found while salvaging whose commands are collected next."""
        self.blanks: list[tuple[int, int]] = []
        """Spans to read again as blanks: ``time`` or ``!`` before a compound
        command tree-sitter misread, a comment inside a misread command."""
        self.newlines: list[int] = []
        """Newlines tree-sitter read as blanks inside a command."""

    # What the statement walker provides.

    def statement(
        self,
        node: Node,
        stdin: Word | None = None,
        redirects: Sequence[Node] = (),
        lead: bool = True,
    ) -> Word | None:
        """Walk one statement; return what it prints when that is known."""
        raise NotImplementedError

    def stages(
        self,
        stages: Sequence[Node],
        stdin: Word | None,
        redirects: Sequence[Node],
        lead: bool,
    ) -> Word | None:
        """Walk the stages of a pipeline; return what the last one prints."""
        raise NotImplementedError

    # Simple commands.

    def _reserve(self) -> int:
        """Hold a place for a command whose nested commands are found first."""
        self.out.append(None)
        return len(self.out) - 1

    def simple(
        self,
        node: Node | None,
        stdin: Word | None,
        redirects: Sequence[Node],
        lead: bool,
        *,
        carrier: bool = False,
        span: Node | None = None,
    ) -> Word | None:
        """Emit one invocation for `node` with `redirects`; return what it prints.

        A `carrier` is a compound command's own redirections, as an invocation
        with no words, so that ``{ ...; } > file`` still shows the write.
        """
        slot = self._reserve()
        words: list[Word] = []
        assignments: list[Assignment] = []
        statements: list[Node] = []
        own: list[Node] = []
        if node is not None and not carrier:
            words, assignments, own, statements = self._read(node, lead)
            if node.type != "test_command":
                self._check_newlines(node, redirects)
        if carrier and node is not None and node.type == "function_definition":
            own = [c for c in node.children if c.type in self.REDIRECTS]
        plan = self.plan([*own, *redirects])
        words.extend(self.words(plan.extras, Where.ARGUMENT))
        evaluated, stdin_text = self.evaluate(plan, stdin)
        starts = [r.start_byte for r in own]
        ends = [plan.end]
        if node is not None:
            starts.append(node.start_byte)
            ends.append(node.end_byte)
        elif span is not None:
            starts.append(span.start_byte)
        start = min(starts, default=0)
        end = max(ends)
        invocation = Invocation(
            tuple(words),
            tuple(assignments),
            tuple(evaluated),
            stdin_text,
            self.text(start, max(start, end)),
        )
        if words or assignments or evaluated:
            self.out[slot] = invocation
        for orphan in plan.orphans:
            self._orphan(orphan)
        for statement in statements:
            self._later(statement)
        output = stdout_of(invocation)
        for kind, continuation in plan.continuations:
            if self.shallow:
                self.deferred.append(continuation)
            elif kind == "pipe":
                output = self.stages(stages_of(continuation), output, (), False)
            else:
                self.statement(continuation)
                output = None
        return output

    def _check_newlines(self, node: Node, redirects: Sequence[Node]) -> None:
        """Find a newline tree-sitter read as a blank inside one simple command.

        After a pipeline of three commands it can read ``c\\nd && e`` as the
        command ``c d``; bash ends the command at the newline.  The newline is
        recorded in `newlines`, to be read again as a ``;``.
        """
        end = max([node.end_byte, *(r.end_byte for r in redirects)])
        if b"\n" not in self.src[node.start_byte : end]:
            return
        tokens: list[Node] = []
        for child in [*node.children, *redirects]:
            if child.type in ("file_redirect", "herestring_redirect"):
                tokens.extend(child.children)
            else:
                tokens.append(child)
        for before, after in itertools.pairwise(tokens):
            gap = self.src[before.end_byte : after.start_byte]
            newline = gap.find(b"\n")
            while newline >= 0 and gap[:newline].endswith(b"\\"):
                newline = gap.find(b"\n", newline + 1)
            if newline >= 0 and before.type != "heredoc_redirect":
                self.newlines.append(before.end_byte + newline)
                if before.type == "comment":  # or the `;` would join the comment
                    self.blanks.append((before.start_byte, before.end_byte))
                return

    def _later(self, node: Node) -> None:
        """Walk a statement found inside a simple command (``time ( ... )``)."""
        if self.shallow:
            self.deferred.append(node)
        else:
            self.statement(node)

    def _orphan(self, nodes: list[Node]) -> None:
        """Emit the words tree-sitter misread as a redirection's, after an error."""
        words = tuple(self.words(nodes, Where.ARGUMENT))
        source = self.text(nodes[0].start_byte, nodes[-1].end_byte)
        self.out.append(Invocation(words, source=source))

    def _read(
        self, node: Node, lead: bool
    ) -> tuple[list[Word], list[Assignment], list[Node], list[Node]]:
        """Read a simple statement's words, assignments, redirections, statements."""
        kind = node.type
        if kind == "command":
            return self._command(node, lead)
        if kind == "variable_assignment":
            return [], [self.assignment(node)], [], []
        if kind == "variable_assignments":
            assignments = [
                self.assignment(c)
                for c in node.children
                if c.type == "variable_assignment"
            ]
            return [], assignments, [], []
        if kind == "test_command":
            if self.node_text(node).startswith("[[") and _ARITHMETIC_TEST.search(
                self.node_text(node)
            ):
                self.arithmetic_operands(node)
            return self._test(node), [], [], []
        return self._declaration(node)

    def _declaration(
        self, node: Node
    ) -> tuple[list[Word], list[Assignment], list[Node], list[Node]]:
        """Read ``export``, ``local``, ``declare``, ``unset``...: all words."""
        words: list[Word] = []
        own: list[Node] = []
        pending: list[Node] = []
        for child in node.children:
            if child.type in ("variable_assignment", "variable_name"):
                words.extend(self.words(pending, Where.ARGUMENT))
                pending.clear()
                words.append(
                    self.assignment_word(child)
                    if child.type == "variable_assignment"
                    else Word(self.node_text(child))
                )
            elif child.type in self.REDIRECTS:
                own.append(child)
            elif not child.is_named and not words and not pending:
                words.append(Word(child.type))  # the keyword itself
            elif child.type != "comment":
                pending.append(child)
        words.extend(self.words(pending, Where.ARGUMENT))
        return words, [], own, []

    def _command(
        self, node: Node, lead: bool
    ) -> tuple[list[Word], list[Assignment], list[Node], list[Node]]:
        """Read a command: assignments, name and arguments, redirections."""
        assignments: list[Assignment] = []
        parts: list[Node] = []
        own: list[Node] = []
        statements: list[Node] = []
        for i, child in enumerate(node.children):
            kind = child.type
            if kind == "variable_assignment":
                assignments.append(self.assignment(child))
            elif kind == "command_name":
                parts.extend(c for c in child.children if not c.is_missing)
            elif kind in self.REDIRECTS:
                own.append(child)
            elif kind in COMPOUND:
                statements.append(child)
            elif kind == "comment":
                continue
            elif child.is_named or node.field_name_for_child(i) == "argument":
                parts.append(child)
        groups = self.groups(parts)
        words = self.words(parts, Where.ARGUMENT)
        if len(words) == len(groups):  # else tree-sitter skipped a word before them
            if lead and _is_bare(groups, 0, self.src, b"time"):
                self._strip_time(node, groups, words)
                arithmetic = [
                    c for c in statements if self.src[c.start_byte :].startswith(b"((")
                ]
                if arithmetic and not words:
                    self.blanks.append((node.start_byte, arithmetic[0].start_byte))
            self._check_name(groups)
        return words, assignments, own, statements

    def _strip_time(
        self, node: Node, groups: list[list[Node]], words: list[Word]
    ) -> None:
        """Remove the keyword ``time [-p] [--]`` that starts a pipeline (twice too)."""
        skip = 0
        while _is_bare(groups, skip, self.src, b"time"):
            skip += 1
            while skip < len(words) and words[skip].text == "-p":
                skip += 1
            if skip < len(words) and words[skip].text == "--":
                skip += 1
        if skip < len(groups) and is_reserved(groups[skip], self.src):
            self.blanks.append((node.start_byte, groups[skip][0].start_byte))
        del words[:skip], groups[:skip]

    def _check_name(self, groups: list[list[Node]]) -> None:
        """Note a command named by a reserved word: tree-sitter misread the text."""
        if groups and len(groups[0]) == 1 and groups[0][0].type == "word":
            name = self.node_text(groups[0][0])
            if name in _RESERVED:
                self.note(
                    f"cannot model the reserved word `{name}` as a command at "
                    f"{self.where(groups[0][0])}"
                )

    def _test(self, node: Node) -> list[Word]:
        """Read ``[[ ... ]]`` or ``[ ... ]`` as the words of the test it runs."""
        words: list[Word] = []
        stack = list(reversed(node.children))
        while stack:
            child = stack.pop()
            kind = child.type
            if not child.is_named:
                words.append(Word(kind))
            elif kind in _EXPRESSIONS:
                stack.extend(reversed(child.children))
            elif kind == "test_operator":
                words.append(Word(self.node_text(child)))
            elif kind != "comment":
                words.append(self.word([child], Where.ARGUMENT))
        return words


def stages_of(node: Node) -> list[Node]:
    """Return the stages of a pipeline, nested pipelines flattened."""
    stages: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "pipeline":
            stack.extend(
                reversed(
                    [c for c in current.children if c.is_named and c.type != "comment"]
                )
            )
        else:
            stages.append(current)
    return stages


def _is_bare(groups: Sequence[Sequence[Node]], i: int, src: bytes, text: bytes) -> bool:
    """Whether word `i` is `text` written plainly, as a keyword must be."""
    if i >= len(groups) or len(groups[i]) != 1:
        return False
    node = groups[i][0]
    return node.type == "word" and src[node.start_byte : node.end_byte] == text


def is_reserved(group: Sequence[Node], src: bytes) -> bool:
    """Whether a word is a reserved word that starts a compound command.

    tree-sitter may make one token of ``{ {``, or two of ``[[``: the plain
    text of the word is looked at, up to its first blank.
    """
    if not group or not all(_is_plain(node) for node in group):
        return False
    text = src[group[0].start_byte : group[-1].end_byte].split(None, 1)
    return bool(text) and text[0] in COMPOUND_STARTS


def _is_plain(node: Node) -> bool:
    """Whether `node` is unquoted text with nothing in it to expand."""
    if node.type == "concatenation":
        return all(child.type == "word" for child in node.children)
    return node.type == "word"
