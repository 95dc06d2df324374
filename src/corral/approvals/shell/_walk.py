"""The walk over a parse tree: lists, pipelines, compound commands, substitutions.

`Walker` visits each statement once, in source order, hands simple commands to
`CommandReader`, and, where it cannot trust or follow the structure (a syntax
error, a node it does not know, nesting too deep), still collects every simple
command beneath (`Walker.salvage`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tree_sitter import Node

from corral.approvals._model import Assignment, Invocation, Script, Word, WordKind
from corral.approvals.shell._backquotes import unescaped
from corral.approvals.shell._commands import (
    COMPOUND,
    SIMPLE,
    CommandReader,
    is_reserved,
    stages_of,
)
from corral.approvals.shell._words import Where

__all__ = ["MAX_DEPTH", "Walker"]

MAX_DEPTH = 64
"""Deeper nesting of compound commands and substitutions is not walked as
structure (its commands are still found): it bounds recursion, and no command
a person would approve nests this deep."""

_CLAUSES = frozenset({"do_group", "elif_clause", "else_clause"})

Reparse = Callable[[str, int], Script]
"""Parses text found inside backquotes, at a nesting depth."""


class Walker(CommandReader):
    """One walk over one parse tree, collecting invocations in source order."""

    def __init__(
        self,
        src: bytes,
        errors: str,
        home: str | None,
        *,
        depth: int = 0,
        reparse: Reparse | None = None,
    ) -> None:
        super().__init__(src, errors, home)
        self.depth = depth
        self._reparse = reparse
        self.misparsed = False
        """Whether part of the text does not parse as bash."""

    def walk(self, root: Node) -> None:
        """Walk the whole tree, syntax errors first."""
        if root.has_error:
            self._syntax_errors(root)
        self._body(root)

    # Statements.

    def statement(
        self,
        node: Node,
        stdin: Word | None = None,
        redirects: Sequence[Node] = (),
        lead: bool = True,
    ) -> Word | None:
        """Walk one statement; return what it writes to stdout when that is known.

        `stdin` is what a pipe feeds it, `redirects` are redirections written
        after it that bash gives its last simple command, and `lead` says it
        starts a pipeline (where ``time`` is a keyword).
        """
        kind = node.type
        if kind in SIMPLE:
            return self.simple(node, stdin, redirects, lead)
        if kind == "redirected_statement":
            return self._redirected(node, stdin, redirects, lead)
        if kind == "pipeline":
            return self.stages(stages_of(node), stdin, redirects, lead)
        if kind == "negated_command":
            return self._negated(node, stdin, redirects, lead)
        if kind == "list":
            self._list(node, redirects)
        elif kind in COMPOUND:
            if redirects or kind == "function_definition":
                self.simple(node, stdin, redirects, lead, carrier=True)
            if self._enter(node):
                try:
                    self._compound(node)
                finally:
                    self.depth -= 1
        elif kind == "ERROR":
            self.salvage(node)
        elif kind != "comment":
            self.note(f"cannot model a {kind} at {self.where(node)}")
            self.salvage(node)
        return None

    def _negated(
        self, node: Node, stdin: Word | None, redirects: Sequence[Node], lead: bool
    ) -> Word | None:
        """Walk ``! pipeline``: the pipeline runs all the same."""
        child = _first_statement(node)
        if child is None or not self._enter(node):
            return None
        try:
            if _starts_compound(child, self.src):
                self.blanks.append((node.start_byte, child.start_byte))
            return self.statement(child, stdin, redirects, lead)
        finally:
            self.depth -= 1

    def _body(self, node: Node) -> None:
        """Walk the statements directly inside `node`."""
        for child in node.children:
            if not child.is_named or child.type == "comment":
                continue
            if child.type in _CLAUSES:
                self._body(child)
            else:
                self.statement(child)

    def _enter(self, node: Node) -> bool:
        """Go one level deeper, or salvage `node` when that is too deep."""
        if self.depth >= MAX_DEPTH:
            self.note(f"nesting deeper than {MAX_DEPTH} levels")
            self.salvage(node)
            return False
        self.depth += 1
        return True

    def nested(self, node: Node) -> None:
        """Walk the statements of a command or process substitution."""
        if self._backquoted(node):
            return
        if self.shallow:
            self.deferred.append(node)
        elif self._enter(node):
            try:
                self._body(node)
            finally:
                self.depth -= 1

    def _backquoted(self, node: Node) -> bool:
        """Parse again the text of backquotes that bash unescapes; return whether.

        tree-sitter reads ``\\`cmd\\``` inside backquotes as plain text, but
        bash removes the backslashes and runs ``cmd``.
        """
        children = node.children
        if len(children) < 2 or children[0].type != "`":
            return False
        inner = self.text(children[0].end_byte, children[-1].start_byte)
        parent = node.parent
        double_quoted = parent is not None and parent.type == "string"
        text = unescaped(inner, double_quoted=double_quoted)
        if text is None:
            return False
        if self._reparse is None or self.depth >= MAX_DEPTH:
            self.note(f"backquotes nested more than {MAX_DEPTH} deep are not followed")
            return True
        script = self._reparse(text, self.depth + 1)
        self.out.extend(script.invocations)
        for reason in script.unmodelled:
            self.note(f"in the backquotes at {self.where(node)}: {reason}")
        return True

    def _redirected(
        self, node: Node, stdin: Word | None, redirects: Sequence[Node], lead: bool
    ) -> Word | None:
        """Walk a statement with redirections; they go to its last simple command."""
        body = node.child_by_field_name("body")
        own = [c for c in node.children if c.type in self.REDIRECTS]
        for child in node.children:
            if not child.is_named or child.type in self.REDIRECTS or child == body:
                continue
            if child.type not in ("comment", "ERROR"):  # errors are reported apart
                self.note(f"cannot model a {child.type} at {self.where(child)}")
            self.salvage(child)
        if body is None:
            return self.simple(None, stdin, [*own, *redirects], lead, span=node)
        return self.statement(body, stdin, [*own, *redirects], lead)

    def stages(
        self,
        stages: Sequence[Node],
        stdin: Word | None,
        redirects: Sequence[Node],
        lead: bool,
    ) -> Word | None:
        """Walk the stages of a pipeline, feeding each what the one before prints."""
        output = stdin
        for i, stage in enumerate(stages):
            last = i == len(stages) - 1
            output = self.statement(
                stage, output, redirects if last else (), lead and i == 0
            )
        return output

    def _list(self, node: Node, redirects: Sequence[Node]) -> None:
        """Walk ``a && b || c``; tree-sitter nests such lists to the left."""
        rights: list[list[Node]] = []
        current = node
        while current.type == "list":
            parts = [c for c in current.children if c.is_named and c.type != "comment"]
            if not parts:
                return
            rights.append(parts[1:])
            current = parts[0]
        items = [current, *(n for part in reversed(rights) for n in part)]
        for i, item in enumerate(items):
            self.statement(item, redirects=redirects if i == len(items) - 1 else ())

    def _compound(self, node: Node) -> None:
        """Walk the statements inside a compound command."""
        kind = node.type
        if (
            kind == "compound_statement"
            and node.child_count
            and (node.children[0].type == "((")
        ):
            self.scan(node, arithmetic=True)
        elif kind == "for_statement":
            self._for(node)
        elif kind == "c_style_for_statement":
            for field in ("initializer", "condition", "update"):
                for part in node.children_by_field_name(field):
                    self.scan(part, arithmetic=True)
            self._loop_body(node)
        elif kind == "case_statement":
            self._case(node)
        elif kind == "function_definition":
            body = node.child_by_field_name("body")
            if body is not None:
                self.statement(body)
        else:
            self._body(node)

    def _for(self, node: Node) -> None:
        """Walk ``for NAME in WORDS``: NAME takes each word, then the body runs."""
        slot = self._reserve()
        variable = node.child_by_field_name("variable")
        values = node.children_by_field_name("value")
        words = self.words(values, Where.ARGUMENT)
        if variable is not None:
            name = self.node_text(variable)
            if not values:
                words = [Word('"$@"', WordKind.DYNAMIC)]
            end = values[-1].end_byte if values else variable.end_byte
            self.out[slot] = Invocation(
                (),
                tuple(Assignment(name, w) for w in words),
                source=self.text(node.start_byte, end),
            )
        self._loop_body(node)

    def _loop_body(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            return
        if body.type in _CLAUSES:
            self._body(body)
        else:
            self.statement(body)

    def _case(self, node: Node) -> None:
        """Walk ``case WORD in PATTERN) ... esac``: patterns may substitute too."""
        for i, child in enumerate(node.children):
            if node.field_name_for_child(i) == "value":
                self.word([child], Where.ARGUMENT)
            elif child.type == "case_item":
                for j, part in enumerate(child.children):
                    if child.field_name_for_child(j) == "value":
                        self.word([part], Where.ARGUMENT)
                    elif part.is_named and part.type != "comment":
                        self.statement(part)

    # What cannot be walked as structure.

    def salvage(self, node: Node) -> None:
        """Collect every simple command beneath `node`, without its structure.

        Used where the structure cannot be trusted or followed (a syntax
        error, an unknown node, nesting too deep), so that a command hidden
        there is still classified.
        """
        was_shallow, saved = self.shallow, self.deferred
        self.shallow, self.deferred = True, []
        try:
            stack = [node]
            while stack:
                current = stack.pop()
                kind = current.type
                if kind in SIMPLE:
                    self.simple(current, None, (), True)
                elif kind == "redirected_statement":
                    self._salvage_redirected(current, stack)
                else:
                    stack.extend(reversed(current.children))
                stack.extend(reversed(self.deferred))
                self.deferred.clear()
        finally:
            self.shallow, self.deferred = was_shallow, saved

    def _salvage_redirected(self, node: Node, stack: list[Node]) -> None:
        body = node.child_by_field_name("body")
        own = [c for c in node.children if c.type in self.REDIRECTS]
        if body is None or body.type in SIMPLE:
            self.simple(body, None, own, True, span=node)
        else:
            self.simple(body, None, own, True, carrier=True)
            stack.append(body)

    def _syntax_errors(self, root: Node) -> None:
        """Record each ERROR and MISSING node tree-sitter made, with its place."""
        stack = [root]
        while stack:
            node = stack.pop()
            if node.is_error:
                self.misparsed = True
                self.note(f"cannot parse the command at {self.where(node)}")
            elif node.is_missing:
                if not _is_missing_name(node):
                    self.note(
                        f"the command is incomplete at {self.where(node)}: "
                        f"`{node.type}` is missing"
                    )
            elif node.has_error:
                stack.extend(reversed(node.children))


def _first_statement(node: Node) -> Node | None:
    return next((c for c in node.children if c.is_named and c.type != "comment"), None)


def _starts_compound(node: Node, src: bytes) -> bool:
    """Whether tree-sitter read a compound command as a command named `{` or `if`."""
    if node.type != "command":
        return False
    name = node.child_by_field_name("name")
    return name is not None and is_reserved(name.children, src)


def _is_missing_name(node: Node) -> bool:
    """Whether `node` is the name tree-sitter wants where bash needs none.

    ``X=1 >file`` is a whole command in bash; tree-sitter marks a missing name.
    """
    parent = node.parent
    if parent is None or parent.type != "command_name":
        return False
    command = parent.parent
    return command is not None and any(
        c.type == "variable_assignment" or c.type.endswith("_redirect")
        for c in command.children
    )
