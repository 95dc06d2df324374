"""Assignments read from the parse tree, in every form bash assigns a variable.

``NAME=value`` before or as a command, ``NAME+=``, ``NAME[i]=``, arrays, the
``NAME=value`` words of declaration commands, ``${NAME:=value}`` and
arithmetic ``NAME = expr``: each is an `Assignment`, so that a changed PATH or
GIT_DIR is seen whatever form it takes.
"""

from __future__ import annotations

from tree_sitter import Node

from corral.approvals._model import Assignment, Invocation, Word, WordKind
from corral.approvals.shell import SHELL_CODE_MARKS
from corral.approvals.shell._redirects import RedirectReader
from corral.approvals.shell._words import Where

__all__ = ["AssignmentReader"]

_ARITHMETIC_ASSIGNMENTS = frozenset(
    {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "^=", "|="}
)


class AssignmentReader(RedirectReader):
    """Reads assignments; those that stand alone are invocations of their own."""

    def __init__(self, src: bytes, errors: str, home: str | None) -> None:
        super().__init__(src, errors, home)
        self.out: list[Invocation | None] = []
        """The invocations found, in source order (None: a place not filled)."""

    def assignment(self, node: Node) -> Assignment:
        """Read ``NAME=value`` (or ``+=``, ``NAME[i]=``, ``NAME=(...)``)."""
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        appends = any(c.type == "+=" for c in node.children)
        name = self.node_text(name_node) if name_node is not None else ""
        exact = name_node is not None and name_node.type == "variable_name"
        if name_node is not None and name_node.type == "subscript":
            base = name_node.child_by_field_name("name")
            name = self.node_text(base) if base is not None else name
            self.scan(name_node)
        if value is None:
            word = Word("")
        elif value.type == "array":
            for element in value.named_children:
                item = self.word([element], Where.ARGUMENT)
                if item.is_literal and any(m in item.text for m in SHELL_CODE_MARKS):
                    self.note(
                        f"the array {name} holds shell code at {self.where(element)}, "
                        "which arithmetic or an expansion can run"
                    )
            exact = False
            word = Word(self.node_text(value), WordKind.DYNAMIC)
        else:
            word = self.word([value], Where.ASSIGNMENT)
        if not exact or appends:
            text = self.node_text(value) if value is not None else ""
            word = Word(text, WordKind.DYNAMIC)
        return Assignment(name, word)

    def assignment_word(self, node: Node) -> Word:
        """Read a declaration's ``NAME=value`` argument as the one word it is."""
        assignment = self.assignment(node)
        if assignment.value.kind is WordKind.DYNAMIC:
            return Word(self.node_text(node), WordKind.DYNAMIC)
        operator = "+=" if any(c.type == "+=" for c in node.children) else "="
        return Word(assignment.name + operator + assignment.value.text)

    def expansion_assigns(self, node: Node) -> None:
        """Emit ``${NAME:=value}`` and ``${NAME=value}`` as the assignments they are."""
        operator = node.child_by_field_name("operator")
        name = next((c for c in node.children if c.type == "variable_name"), None)
        if operator is None or name is None or operator.type not in (":=", "="):
            return
        value = Word(self.node_text(node), WordKind.DYNAMIC)
        assignment = Assignment(self.node_text(name), value)
        self.out.append(Invocation((), (assignment,), source=self.node_text(node)))

    def arithmetic_assigns(self, node: Node) -> None:
        """Emit an arithmetic ``NAME = expr`` as the assignment it is."""
        if node.type == "variable_assignment":
            name, value = (
                node.child_by_field_name("name"),
                node.child_by_field_name("value"),
            )
        else:
            operator = node.child_by_field_name("operator")
            if operator is None or operator.type not in _ARITHMETIC_ASSIGNMENTS:
                return
            name, value = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            )
        if name is None or value is None or name.type not in ("variable_name", "word"):
            return
        assignment = Assignment(
            self.node_text(name), Word(self.node_text(value), WordKind.DYNAMIC)
        )
        self.out.append(Invocation((), (assignment,), source=self.node_text(node)))
