"""What runs, or is evaluated, inside shell text whose value does not matter.

`Scanner` walks the substitutions beneath any node (their commands are left to
the subclass, `Scanner.nested`), and notes what bash evaluates as an
expression: arithmetic reading a variable corral cannot see to be a number
(`corral.approvals.shell._numbers`), the subscripts of names given to
builtins, ``${!x}`` and ``${x@P}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tree_sitter import Node

from corral.approvals.shell import SHELL_CODE_MARKS
from corral.approvals.shell._numbers import Numbers
from corral.approvals.shell._source import SUBSTITUTIONS, Source, Where

__all__ = ["Scanner"]

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


class Scanner(Source):
    """Finds what runs inside a parsed script's text; `nested` walks commands."""

    loose: bool
    """Whether the text has characters tree-sitter skips but bash keeps."""
    _numbers: Numbers | None
    """Where the script surely gives a name a number, found on the first read."""
    _names: dict[int, frozenset[int]]
    """For each command taking variables' names, by where it starts, where the
    words it takes as names start."""

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
