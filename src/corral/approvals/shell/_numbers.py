"""Which variables a script surely gives a number, where arithmetic reads them.

bash evaluates a value read in ``(( ))``, ``$(( ))``, an index, a substring's
offset or a ``[[ -eq ]]`` operand as an expression, so a value from a file or the
environment (``a[$(cmd)]``) runs commands.  `Numbers` reads one script's whole
tree once and answers, for a name read at a node, whether bash can have given
it anything but a number there.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tree_sitter import Node

__all__ = ["Numbers"]

# Which names are surely numbers where arithmetic reads them.  bash evaluates a
# value read there as an expression, so a value from a file or the environment
# (``a[$(cmd)]``) runs commands; a name counts only where bash cannot have given
# it anything but a number:
# - every assignment to it is a command of its own, ``NAME=digits`` (not a
#   prefix, an argument, a string or a here-document line) or ``NAME=`` one
#   expansion that is always an integer (``$((..))``, ``$#``, ``${#x}``), or
#   arithmetic, which stores only integers;
# - nothing else in the script assigns it (read, printf -v, for, ${NAME:=..},
#   declare...), and nothing can assign names the text does not show (eval,
#   source, trap, a nameref, a command named by a variable);
# - a ``NAME=digits`` or ``((NAME = digits))`` at the top level of the script
#   ran before the statement that reads it, so that no inherited value is left;
#   ``NAME=$((..))`` counts only for statements begun on its line, as bash
#   drops the rest of a line whose arithmetic fails (``$((1/0))``) and goes on
#   with the next, where NAME holds what it inherited.
# Anything else fails closed: the read is noted.
_STATEMENT_PARENTS = frozenset(
    {"program", "list", "pipeline", "negated_command", "subshell", "do_group"}
    | {"compound_statement", "if_statement", "elif_clause", "else_clause"}
    | {"while_statement", "case_item", "variable_assignments", "redirected_statement"}
)
_ARITHMETIC_PARENTS = frozenset(
    {"binary_expression", "unary_expression", "ternary_expression", "subscript"}
    | {"postfix_expression", "parenthesized_expression", "arithmetic_expansion"}
    | {"c_style_for_statement"}
)
# Builtins that assign the names their words give (``printf`` and ``wait`` only
# with options, which come first), and builtins after which any name may hold
# anything: they run text as commands, or assign names they compute.
_NAMING_BUILTINS = frozenset({"read", "getopts", "unset", "printf", "wait"})
_ANY_NAME_BUILTINS = frozenset(
    {"eval", "source", ".", "trap", "mapfile", "readarray", "enable", "bind"}
    | {"complete", "compgen", "fc", "alias", "coproc"}
    | {"declare", "typeset", "local", "export", "readonly"}
)
_WRAPPERS = frozenset({"command", "builtin", "time"})
"""Words that run the builtin after them (and their options) in this shell."""
_INERT_WORD = re.compile(rb"[A-Za-z0-9_.,:/@%+=^-]*")
_DIGITS = re.compile(rb"[0-9]+")
_WORD_ENDS = frozenset(b" \t\n;&|)")
"""What may follow ``NAME=digits`` where bash ends the word there too."""
_ARITHMETIC_ENDS = _WORD_ENDS | frozenset(b",")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMERIC_EXPANSION = re.compile(rb"\A\$(?:[#?$!]|\{(?:[#?$!]|#[^}]*)\})\Z")
"""Parameters that always expand to an integer: ``$#``, ``$?``, ``$$``, ``$!``,
``${#name}`` (``$!`` may be empty, which arithmetic reads as 0)."""
_NEVER = 1 << 62
"""A byte no read is at: reads in the assigning statement itself do not count."""


class _Sure(NamedTuple):
    """A top-level statement that surely gives a name a number."""

    start: int
    """Where the statement starts."""
    since: int
    """Where reads inside the statement itself count from."""
    before: tuple[str, ...]
    """The names it assigns first: a failure there (a readonly name) stops it."""
    later: bool
    """Whether the name keeps its number in the statements after (not ``&``)."""
    until: int
    """Where statements stop counting: the end of the line when the assignment
    may fail, else never."""


class Numbers:
    """Where one script surely gives each name a number, read from its whole tree."""

    def __init__(self, root: Node, src: bytes, *, loose: bool) -> None:
        self.root = root
        self.src = src
        self.unknown = loose or root.has_error
        """Whether some name may hold anything, whatever the text shows."""
        self.others: set[str] = set()
        """Names something may give another value than a number."""
        self.sure: dict[str, list[_Sure]] = {}
        """For each name given a number at the top level, the statements that
        surely do."""
        if not self.unknown:
            self._top_level(root)
            self._assignments(root)

    def is_number(self, name: str, node: Node) -> bool:
        """Whether `name`, read at `node` of the tree, surely holds a number."""
        if self.unknown or name in self.others:
            return False
        statement = node
        while statement.parent is not None and statement.parent != self.root:
            statement = statement.parent
        return any(
            _holds(sure, statement, node)
            and not any(other in self.others for other in sure.before)
            for sure in self.sure.get(name, ())
        )

    # The statements that surely run, in order: those of the script itself.

    def _top_level(self, root: Node) -> None:
        """Find the statements of the script itself that surely assign a number."""
        for statement in root.named_children:
            kind = statement.type
            since, ends = _NEVER, _WORD_ENDS
            if kind == "variable_assignment":
                assigned = [statement]
            elif kind == "variable_assignments":
                assigned = statement.named_children
            elif kind == "compound_statement" and statement.children[0].type == "((":
                assigned, ends = statement.named_children, _ARITHMETIC_ENDS
            elif kind == "c_style_for_statement":
                initializer = statement.children_by_field_name("initializer")
                assigned = [n for n in initializer if n.is_named]
                since = initializer[-1].end_byte if initializer else _NEVER
                ends = _ARITHMETIC_ENDS
            else:
                continue
            # A statement run in the background assigns in a subshell of its own.
            after = statement.next_sibling
            later = after is None or after.type != "&"
            before: list[str] = []
            until = _NEVER
            for node in assigned:
                name = self._number_assigned(node, ends)
                if name is None:
                    break
                if self._may_fail(node):
                    line = self.src.find(b"\n", statement.end_byte)
                    until = min(until, _NEVER if line < 0 else line)
                sure = _Sure(statement.start_byte, since, tuple(before), later, until)
                self.sure.setdefault(name, []).append(sure)
                before.append(name)

    def _number_assigned(self, node: Node, ends: frozenset[int]) -> str | None:
        """Return the name `node` gives a literal number, else None."""
        if node.type == "variable_assignment":
            name = node.child_by_field_name("name")
            value = node.child_by_field_name("value")
            plain = not any(c.type == "+=" for c in node.children)
        elif node.type == "binary_expression":
            name = node.child_by_field_name("left")
            value = node.child_by_field_name("right")
            operator = node.child_by_field_name("operator")
            plain = operator is not None and operator.type == "="
        else:
            return None
        if not plain or name is None or value is None or name.type != "variable_name":
            return None
        after = self.src[value.end_byte : value.end_byte + 1]
        if not self._is_integer(value, arithmetic=node.type != "variable_assignment"):
            return None
        if after and after[0] not in ends:
            return None
        text = self._text(name).decode("ascii", "replace")
        return text if text != text.upper() else None

    def _is_integer(self, value: Node, *, arithmetic: bool) -> bool:
        """Whether `value` is digits, or (as a word) an expansion to an integer."""
        if _DIGITS.fullmatch(self._text(value)):
            return True
        if arithmetic:
            return False
        if value.type == "string":
            inner = [c for c in value.children if c.type != '"']
            if len(inner) != 1 or len(value.children) != 3:
                return False
            value = inner[0]
        if value.type == "arithmetic_expansion":
            return True
        kind_fits = value.type in ("simple_expansion", "expansion")
        return kind_fits and _NUMERIC_EXPANSION.match(self._text(value)) is not None

    def _may_fail(self, node: Node) -> bool:
        """Whether the assignment `node` evaluates arithmetic, which may fail."""
        value = node.child_by_field_name("value")
        if node.type != "variable_assignment" or value is None:
            return False
        return not _DIGITS.fullmatch(self._text(value)) and (
            b"((" in self._text(value) or b"[" in self._text(value)
        )

    # Everything else that may assign, anywhere in the script.

    def _assignments(self, root: Node) -> None:
        """Find every other way the script may assign a name."""
        stack = [root]
        while stack and not self.unknown:
            node = stack.pop()
            kind = node.type
            if kind == "variable_assignment":
                self._assignment(node)
            elif kind == "for_statement":  # and select
                self._name(node.child_by_field_name("variable"))
            elif kind == "expansion":
                operator = node.child_by_field_name("operator")
                if operator is not None and operator.type in ("=", ":="):
                    indirect = self._text(node).startswith(b"${!")
                    self._name(None if indirect else _first(node, "variable_name"))
            elif kind == "command":
                self._command(node)
            elif kind == "declaration_command":
                self._declaration(node, nameref=True)
            elif kind == "unset_command":
                self._declaration(node, nameref=False)
            stack.extend(node.children)

    def _assignment(self, node: Node) -> None:
        """See ``NAME=value``: only a command of its own storing digits keeps NAME."""
        parent = node.parent
        kind = parent.type if parent is not None else ""
        if kind in _ARITHMETIC_PARENTS or (
            kind == "compound_statement"
            and parent is not None
            and parent.children[0].type == "(("
        ):
            return  # arithmetic stores an integer, or fails and stores nothing
        name = node.child_by_field_name("name")
        if name is not None and name.type == "subscript":
            self._name(name.child_by_field_name("name"))
        elif kind not in _STATEMENT_PARENTS or not self._number_assigned(
            node, _WORD_ENDS
        ):
            self._name(name)

    def _command(self, node: Node) -> None:
        """See a builtin that assigns names, or a command whose name is not known."""
        words: list[Node] = []
        for i, child in enumerate(node.children):
            if child.type == "command_name":
                words.extend(child.children)
            elif node.field_name_for_child(i) == "argument":
                words.append(child)
        values = [self._literal(word) for word in words]
        i = 0
        while i < len(values) and values[i] in _WRAPPERS:
            i += 1
            while i < len(values) and (values[i] or "-").startswith("-"):
                if values[i] is None:
                    self.unknown = True
                    return
                i += 1
        if i >= len(values):
            return
        name, rest = values[i], values[i + 1 :]
        if name is None or name in _ANY_NAME_BUILTINS:
            self.unknown = True
        elif name in _NAMING_BUILTINS:
            first = rest[0] if rest else ""
            if name in ("printf", "wait") and not (first is None or first[:1] == "-"):
                return  # no options: printf prints, wait waits
            for value in rest:
                self._names(value)

    def _declaration(self, node: Node, *, nameref: bool) -> None:
        """See ``declare``, ``local``, ``export``, ``unset``...: each name given."""
        for child in node.named_children:
            if child.type == "variable_assignment":
                continue  # seen as an assignment
            if child.type.endswith("_redirect") or child.type == "comment":
                continue
            value = self._literal(child)
            if value is not None and value[:1] in "-+":
                # ``declare -n`` makes a name stand for another.
                self.unknown = self.unknown or (nameref and "n" in value)
                continue
            self._names(value)

    def _names(self, value: str | None) -> None:
        """Add the names a builtin's word may give: all of an option's tail too."""
        if value is None:
            self.unknown = True
        elif value[:1] in "-+":
            for run in _NAME.findall(value):
                self.others.update(run[i:] for i in range(len(run)))
        else:
            match = _NAME.match(value)
            if match:
                self.others.add(match.group())

    def _name(self, node: Node | None) -> None:
        if node is None:
            self.unknown = True
        else:
            self.others.add(self._text(node).decode("utf-8", "replace"))

    def _literal(self, node: Node) -> str | None:
        """Return the text a word surely stands for, else None."""
        kind = node.type
        raw = self._text(node)
        if kind in ("word", "number", "variable_name"):
            value = raw if _INERT_WORD.fullmatch(raw) else None
        elif kind == "raw_string":
            value = raw[1:-1] if len(raw) > 1 and raw.endswith(b"'") else None
        elif kind == "string" and all(
            c.type in ('"', "string_content") for c in node.children
        ):
            value = raw[1:-1] if not re.search(rb"[\\$`]", raw) else None
        else:
            value = None
        return value.decode("utf-8", "replace") if value is not None else None

    def _text(self, node: Node) -> bytes:
        return self.src[node.start_byte : node.end_byte]


def _holds(sure: _Sure, statement: Node, node: Node) -> bool:
    """Whether the number `sure` gives is what bash reads at `node` of `statement`."""
    if statement.start_byte == sure.start:
        return node.start_byte >= sure.since
    return sure.start < statement.start_byte < sure.until and sure.later


def _first(node: Node, kind: str) -> Node | None:
    return next((c for c in node.children if c.type == kind), None)
