"""Shell words as bash will expand them: quotes, escapes, tilde, globs and braces.

`WordReader` turns the tree-sitter nodes of one word into a `Word`: its value
when the text alone decides it, else its source text marked DYNAMIC.  Finding
a substitution inside a word is left to the subclass, which walks the commands
in it (`WordReader.nested`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import NamedTuple

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
from corral.approvals.shell._source import Source, token_after, token_before, word_parts

__all__ = [
    "HEREDOC_ESCAPES",
    "SUBSTITUTIONS",
    "Pieces",
    "Where",
    "WordReader",
]


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
# Node types whose content runs commands; found wherever they are.
SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
# What tree-sitter skips between tokens that bash reads as part of a word.
_LOOSE = re.compile(rb"\\[ \t\v\f\r]|[\v\f\r]")
# Arithmetic nodes that may assign a variable.
_ARITHMETIC_ASSIGNING = frozenset({"binary_expression", "variable_assignment"})
# What reads a variable inside arithmetic: a bare name, $name, ${name}.
_ARITHMETIC_READS = frozenset(
    {"variable_name", "simple_expansion", "expansion", "word", "string_content"}
    | {"raw_string"}
)
# Text in a leaf that would start a substitution tree-sitter did not see.
_HIDDEN_SUBSTITUTION = re.compile(r"\$\(|`|[<>]\(")
# ``${!x}`` expands the variable x names, ``${x@P}`` expands x as a prompt: both
# read a value as shell text, and a name as ``a[$(cmd)]`` or a prompt as
# ``$(cmd)`` runs cmd.  ``${!a[@]}``, ``${!pre*}`` and ``${!}`` only list.
_INDIRECT = re.compile(r"\$\{!(?!\}|[A-Za-z_][A-Za-z0-9_]*(?:\[[@*]\]|[@*])\})")
_PROMPT_EXPANSION = re.compile(r"@P\}\Z")
# Names arithmetic reads in a word's text: not a number's digits (``0x1f``) or
# the digits of a base (``16#ff``).
_ARITHMETIC_NAME = re.compile(r"(?<![A-Za-z0-9_#])[A-Za-z_][A-Za-z0-9_]*")
# Parameters whose value is always a number: $#, $?, $$, $!, ${#name}.
_NUMERIC_PARAMETER = re.compile(r"\A\$(?:[#?$!]|\{#[^}]*\})\Z")


class Pieces:
    """The pieces of one word as they are read, and whether any is dynamic."""

    __slots__ = ("braces", "dynamic", "parts")

    def __init__(self) -> None:
        self.parts: list[Piece] = []
        self.dynamic = False
        self.braces = False
        """Whether tree-sitter saw a brace expression (``{1..3}``) in the word."""


class WordReader(Source):
    """Reads words from a parsed script; subclasses walk what substitutions run."""

    def __init__(self, src: bytes, errors: str, home: str | None) -> None:
        super().__init__(src, errors)
        # A script that names HOME may change it before a tilde is expanded.
        self.home = None if b"HOME" in src else home
        self.loose = _LOOSE.search(src) is not None
        """Whether the text has characters tree-sitter skips but bash keeps."""
        self._numbers: _Numbers | None = None
        """Where the script surely gives a name a number, found on the first read."""

    # What subclasses provide.

    def nested(self, node: Node) -> None:
        """Walk the commands of a command or process substitution."""
        raise NotImplementedError

    # Finding what runs inside text whose value does not matter.

    def scan(self, node: Node, *, arithmetic: bool = False) -> None:
        """Walk every substitution beneath `node`, whatever holds it.

        In `arithmetic`, assignments (``x = 1``, ``i += 2``) are found too.
        """
        stack = [node]
        while stack:
            current = stack.pop()
            kind = current.type
            if kind in SUBSTITUTIONS:
                if arithmetic:
                    self._evaluated(current, "the output of a substitution")
                self.nested(current)
                continue
            if arithmetic and kind in _ARITHMETIC_READS:
                self._reads_in_arithmetic(current)
            if current.child_count == 0:
                if current.is_named and _HIDDEN_SUBSTITUTION.search(
                    self.node_text(current)
                ):
                    self.note(
                        f"cannot see into the substitution at {self.where(current)}"
                    )
                continue
            if kind == "subscript" and current.child_count > 1:
                # An index is arithmetic: a[i] reads i's value as an expression.
                for index in current.children[1:]:
                    if index.is_named:
                        self.scan(index, arithmetic=True)
                continue
            if kind == "expansion":
                self.expansion_assigns(current)
                self._evaluates(current)
            elif arithmetic and kind in _ARITHMETIC_ASSIGNING:
                self.arithmetic_assigns(current)
                # ``x = 1`` does not read x's old value; ``x += 1`` does.
                target = _plain_target(current)
                stack.extend(c for c in reversed(current.children) if c != target)
                continue
            stack.extend(reversed(current.children))

    def arithmetic_operands(self, node: Node) -> None:
        """Note every variable read beneath `node`, compared there as arithmetic."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("simple_expansion", "expansion"):
                self._reads_in_arithmetic(current)
            elif current.type not in SUBSTITUTIONS:
                if _is_arithmetic_test(current, self.src):
                    for side in ("left", "right"):
                        operand = current.child_by_field_name(side)
                        if operand is not None:
                            self._operand(operand)
                stack.extend(current.children)

    def _operand(self, node: Node) -> None:
        """Note what an operand of ``[[ a -eq b ]]`` reads, an expression all of it."""
        stack = [node]
        while stack:
            current = stack.pop()
            leaf = current.child_count == 0 and current.is_named
            if current.type in SUBSTITUTIONS:
                self._evaluated(current, "the output of a substitution")
            elif leaf or current.type in ("simple_expansion", "expansion"):
                self._reads_in_arithmetic(current)
            else:
                stack.extend(current.children)

    def _reads_in_arithmetic(self, node: Node) -> None:
        """Note a variable read in arithmetic unless its value is surely a number."""
        text = self.node_text(node)
        if node.type in ("simple_expansion", "expansion"):
            if _NUMERIC_PARAMETER.match(text):
                return
            names = [text.lstrip("$").strip("{}").split("[", 1)[0]]
        else:
            names = _ARITHMETIC_NAME.findall(text)
        if not all(self._surely_number(node, name) for name in names):
            self._evaluated(node, f"the value of {text}")

    def _surely_number(self, node: Node, name: str) -> bool:
        """Whether the variable `name`, read at `node`, surely holds a number."""
        if not (name.isidentifier() and name.isascii()) or name == name.upper():
            return False  # bash names the variables it sets itself in capitals
        root = node
        while root.parent is not None:
            root = root.parent
        if self._numbers is None or self._numbers.root != root:
            self._numbers = _Numbers(root, self.src, loose=self.loose)
        return self._numbers.is_number(name, node)

    def _evaluated(self, node: Node, what: str) -> None:
        self.note(
            f"cannot model the arithmetic at {self.where(node)}: bash evaluates "
            f"{what} there as an expression, which can run commands"
        )

    def _evaluates(self, node: Node) -> None:
        """Note ``${!x}`` and ``${x@P}``, which evaluate a value as shell text."""
        text = self.node_text(node)
        if _INDIRECT.match(text) or _PROMPT_EXPANSION.search(text):
            self.note(
                f"cannot model the expansion {text} at {self.where(node)}: it reads "
                "a variable's value as shell text"
            )

    def expansion_assigns(self, node: Node) -> None:
        """See ``${NAME:=value}``, which assigns NAME; subclasses record it."""

    def arithmetic_assigns(self, node: Node) -> None:
        """See an arithmetic expression that may assign; subclasses record it."""

    # Words.

    def word(self, nodes: Sequence[Node], where: Where) -> Word:
        """Return the word written as the adjacent `nodes` in the `where` position."""
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


def _plain_target(node: Node) -> Node | None:
    """Return the name an arithmetic ``NAME = expr`` assigns, if it is a plain one."""
    if node.type == "variable_assignment":
        name = node.child_by_field_name("name")
        plain = any(c.type == "=" for c in node.children)
    else:
        name = node.child_by_field_name("left")
        operator = node.child_by_field_name("operator")
        plain = operator is not None and operator.type == "="
    if plain and name is not None and name.type in ("variable_name", "word"):
        return name
    return None


def _is_arithmetic_test(node: Node, src: bytes) -> bool:
    """Whether `node` is ``a -eq b`` (or -ne, -lt...) in ``[[ ]]``."""
    if node.type != "binary_expression":
        return False
    operator = node.child_by_field_name("operator")
    return (
        operator is not None
        and src[operator.start_byte : operator.end_byte] in _ARITHMETIC_TESTS
    )


_ARITHMETIC_TESTS = frozenset({b"-eq", b"-ne", b"-lt", b"-le", b"-gt", b"-ge"})

# Which names are surely numbers where arithmetic reads them.  bash evaluates a
# value read there as an expression, so a value from a file or the environment
# (``a[$(cmd)]``) runs commands; a name counts only where bash cannot have given
# it anything but a number:
# - every assignment to it is a command of its own, ``NAME=digits`` (not a
#   prefix, an argument, a string or a here-document line), or arithmetic,
#   which stores only integers;
# - nothing else in the script assigns it (read, printf -v, for, ${NAME:=..},
#   declare...), and nothing can assign names the text does not show (eval,
#   source, trap, a nameref, a command named by a variable);
# - a ``NAME=digits`` or ``((NAME = digits))`` at the top level of the script
#   ran before the statement that reads it, so that no inherited value is left.
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


class _Numbers:
    """Where one script surely gives each name a number, read from its whole tree."""

    def __init__(self, root: Node, src: bytes, *, loose: bool) -> None:
        self.root = root
        self.src = src
        self.unknown = loose or root.has_error
        """Whether some name may hold anything, whatever the text shows."""
        self.others: set[str] = set()
        """Names something may give another value than a number."""
        self.sure: dict[str, _Sure] = {}
        """For each name given a number at the top level, the first statement that
        surely does."""
        if not self.unknown:
            self._top_level(root)
            self._assignments(root)

    def is_number(self, name: str, node: Node) -> bool:
        """Whether `name`, read at `node` of the tree, surely holds a number."""
        sure = self.sure.get(name)
        if self.unknown or name in self.others or sure is None:
            return False
        if any(other in self.others for other in sure.before):
            return False
        statement = node
        while statement.parent is not None and statement.parent != self.root:
            statement = statement.parent
        if statement.start_byte == sure.start:
            return node.start_byte >= sure.since
        return statement.start_byte > sure.start and sure.later

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
            for node in assigned:
                name = self._number_assigned(node, ends)
                if name is None:
                    break
                if name not in self.sure or not self.sure[name].later:
                    start = statement.start_byte
                    self.sure[name] = _Sure(start, since, tuple(before), later)
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
        if not _DIGITS.fullmatch(self._text(value)) or (after and after[0] not in ends):
            return None
        text = self._text(name).decode("ascii", "replace")
        return text if text != text.upper() else None

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


def _first(node: Node, kind: str) -> Node | None:
    return next((c for c in node.children if c.type == kind), None)
