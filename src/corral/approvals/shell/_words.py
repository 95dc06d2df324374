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

from tree_sitter import Node

from corral.approvals._model import Word, WordKind
from corral.approvals.shell import SHELL_CODE_MARKS
from corral.approvals.shell._escapes import EscapeMode, decode_escapes
from corral.approvals.shell._expand import (
    Piece,
    expand_tildes,
    has_brace_expansion,
    has_glob,
    split_chars,
)
from corral.approvals.shell._numbers import Numbers
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
# Builtins that take words as the names of variables, where bash evaluates the
# subscript a name holds (``unset 'a[$(cmd)]'`` runs cmd): the options that
# take a value, those whose value is a name, and whether the operands are names.
# getopts and mapfile refuse a name that is not an identifier, and so does
# declare one without ``=``; declare's own words are read as a declaration's.
_NAMING = {
    "unset": ("", "", True),
    "read": ("adinNptu", "", True),
    "printf": ("v", "v", False),
    "wait": ("p", "p", False),
    "declare": ("", "", True),
    "typeset": ("", "", True),
    "local": ("", "", True),
}
_TESTS = frozenset({"test", "["})
"""Commands whose operand after ``-v`` is a variable's name."""
_WRAPPERS = frozenset({"command", "builtin", "time"})
"""Words that run the builtin after them (and their options) in this shell."""
_TAKING_NAMES = frozenset(name.encode() for name in (*_NAMING, *_TESTS, *_WRAPPERS))
_QUOTING = re.compile(rb"['\"\\]")
# What a word's text alone stands for: its escapes resolved, when it holds no
# expansion and no quote tree-sitter left in it.
_UNQUOTED_CODE = re.compile(r"[$`'\" \t\n]")
_BACKSLASHED = re.compile(r"\\(.)", re.DOTALL)
_DQ_BACKSLASHED = re.compile(r"\\([$`\"\\\n])")
_STATIC_LEAVES = frozenset({"word", "number", "string_content", "raw_string"})


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
        self._numbers: Numbers | None = None
        """Where the script surely gives a name a number, found on the first read."""
        self._names: dict[int, frozenset[int]] = {}
        """For each command taking variables' names, by where it starts, where
        the words it takes as names start."""

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
                if kind in ("simple_expansion", "expansion"):
                    self.scan(current)  # what is inside is a parameter's, not read
                    continue
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
                stack.extend(reversed(self._expansion(current)))
                continue
            if arithmetic and kind in _ARITHMETIC_ASSIGNING:
                self.arithmetic_assigns(current)
                # ``x = 1`` does not read x's old value; ``x += 1`` does.
                target = _plain_target(current)
                stack.extend(c for c in reversed(current.children) if c != target)
                continue
            stack.extend(reversed(current.children))

    def _expansion(self, node: Node) -> list[Node]:
        """See what ``${...}`` does itself; return the children left to walk."""
        self.expansion_assigns(node)
        self._evaluates(node)
        # ``${s:offset:length}``: both are arithmetic.
        bounds = _substring_bounds(node)
        for bound in bounds:
            self.scan(bound, arithmetic=True)
        return [c for c in node.children if c not in bounds]

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

    def _name_operand(self, nodes: Sequence[Node], where: Where) -> None:
        """Check a word that bash may take as a variable's name (``unset "$x"``)."""
        first = nodes[0]
        parent = first.parent
        kind = parent.type if parent is not None else ""
        if parent is None or where not in (Where.ARGUMENT, Where.ASSIGNMENT):
            return
        if kind == "command_name" and parent.parent is not None:
            # Only the text of such a builtin's name is looked at: a command
            # nested to the limit must not go deeper here.
            raw = self.src[parent.start_byte : parent.end_byte]
            after = self.src[parent.end_byte : parent.end_byte + 1]
            if raw in _TAKING_NAMES or _QUOTING.search(raw + after):
                command = parent.parent
                self._names[command.start_byte] = self._names_in(command)
        elif where is Where.ASSIGNMENT:
            if kind == "variable_assignment" and self._is_nameref(parent.parent):
                self._name(nodes)  # each read of the nameref reads this name
        elif kind == "command":
            if first.start_byte in self._names.get(parent.start_byte, ()):
                self._name(nodes, declares=True)
        elif kind in ("unset_command", "declaration_command"):
            text = self._static(nodes)
            if text is None or not text.startswith(("-", "+")):
                self._name(nodes, declares=True)
        elif kind == "unary_expression":
            operator = first.prev_sibling
            if operator is not None and self.node_text(operator) == "-v":
                self._name(nodes)

    def _names_in(self, command: Node) -> frozenset[int]:
        """Return where the words `command` takes as variables' names start."""
        words: list[list[Node]] = []
        for i, child in enumerate(command.children):
            if child.type == "command_name":
                nodes = child.children
            elif command.field_name_for_child(i) == "argument":
                nodes = [child]
            else:
                continue
            for node in nodes:
                # A backslash-newline joins the words on either side of it.
                end = words[-1][-1].end_byte if words else node.start_byte
                gap = self.src[end : node.start_byte]
                if words and gap == b"\\\n" * (len(gap) // 2):
                    words[-1].append(node)
                else:
                    words.append([node])
        texts = [self._static(word) for word in words]
        return frozenset(words[i][0].start_byte for i in _names_among(texts))

    def _is_nameref(self, declaration: Node | None) -> bool:
        """Whether the declaration `declaration` may make namerefs (``local -n``)."""
        if declaration is None or declaration.type != "declaration_command":
            return False
        for child in declaration.named_children:
            # Options come first: the first other word ends them.
            if child.type in ("variable_assignment", "variable_name"):
                return False
            text = self._static([child])
            if text is None or (text.startswith("-") and "n" in text):
                return True
            if not text.startswith(("-", "+")):
                return False
        return False

    def _name(self, nodes: Sequence[Node], *, declares: bool = False) -> None:
        """Note what bash evaluates in a word it takes as a variable's name.

        A name's subscript (``a[i]``) is arithmetic, and the value of an
        expansion may be a name with a subscript: both are read as arithmetic.
        A declaration's word names a variable up to its ``=``.
        """
        subscript = False
        stack = list(reversed(nodes))
        while stack:
            current = stack.pop()
            kind = current.type
            if kind in SUBSTITUTIONS:
                self._evaluated(current, "the output of a substitution")
                continue
            if kind in ("simple_expansion", "expansion"):
                self._reads_in_arithmetic(current)
                continue
            if kind == "arithmetic_expansion":
                continue  # an integer, whose own reads are checked with the word
            if kind not in _STATIC_LEAVES:
                stack.extend(reversed(current.children))
                continue
            text = self.node_text(current)
            ends = declares and "=" in text
            text = text.split("=", 1)[0] if ends else text
            if not subscript and "[" in text:
                subscript = True
                text = text[text.index("[") + 1 :]
            names = _ARITHMETIC_NAME.findall(text) if subscript else []
            if (subscript and any(mark in text for mark in SHELL_CODE_MARKS)) or not (
                all(self._surely_number(current, name) for name in names)
            ):
                self._evaluated(current, f"the subscript in {self.node_text(current)}")
            if ends:
                return

    def _static(self, nodes: Sequence[Node]) -> str | None:
        """Return the text a word surely stands for when only quotes make it."""
        out: list[str] = []
        for node in nodes:
            text = self.node_text(node).replace("\\\n", "")
            if node.type in ("word", "number") and not _UNQUOTED_CODE.search(text):
                out.append(_BACKSLASHED.sub(r"\1", text))
            elif node.type == "concatenation":
                inner = self._static(node.children)
                if inner is None:
                    return None
                out.append(inner)
            elif node.type == "raw_string" and len(text) > 1:
                out.append(text[1:-1])
            elif node.type == "string" and all(
                c.type in ('"', "string_content") for c in node.children
            ):
                if re.search(r"[$`]", text):
                    return None
                out.append(_DQ_BACKSLASHED.sub(r"\1", text[1:-1]))
            else:
                return None
        return "".join(out)

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
            self._numbers = Numbers(root, self.src, loose=self.loose)
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


def _names_among(texts: Sequence[str | None]) -> list[int]:
    """Return which of a command's words (their texts, None where only known at
    run time) the builtin it runs takes as variables' names."""
    i = 0
    while i < len(texts) and texts[i] in _WRAPPERS:
        i += 1
        while i < len(texts) and (texts[i] or "").startswith("-"):
            i += 1
    if i >= len(texts):
        return []
    name, first = texts[i], i + 1
    if name in _TESTS:
        return [j for j in range(first + 1, len(texts)) if texts[j - 1] in ("-v", None)]
    if name not in _NAMING:
        return []
    valued, naming, operands = _NAMING[name]
    names: list[int] = []
    j = first
    while j < len(texts):
        text = texts[j]
        if text == "--":
            j += 1
            break
        if text is None or not text.startswith("-") or text == "-":
            if text is None and not operands and j + 1 < len(texts):
                names.extend((j, j + 1))  # it may be ``-vNAME``, or ``-v`` and NAME
            break
        j += 1
        letters = [k for k, c in enumerate(text) if k and c in valued]
        if letters:
            at = j - 1 if letters[0] + 1 < len(text) else j
            if text[letters[0]] in naming and at < len(texts):
                names.append(at)
            j = at + 1
    if operands:
        names.extend(range(j, len(texts)))
    return names


def _substring_bounds(node: Node) -> list[Node]:
    """Return the offset and length of ``${name:offset:length}``, else nothing."""
    operators = [
        i for i in range(node.child_count) if node.field_name_for_child(i) == "operator"
    ]
    if not operators or node.children[operators[0]].type != ":":
        return []
    return [c for c in node.children[operators[0] + 1 :] if c.is_named]


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
