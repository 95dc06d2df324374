"""Builtins that set variables without an assignment word: read, printf -v, mapfile.

``read PATH`` changes what later command names run as surely as ``PATH=...``
does, so each variable such a builtin sets is classified as an assignment is;
one whose name is only known at run time could be any, PATH included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from corral.approvals._model import Category, Word, WordKind
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Sink,
    name_of,
    parse_options,
    spec,
)

__all__ = ["VARIABLE_BUILTINS", "evaluates_text"]

# Text that bash runs when it evaluates a word again: an array subscript, in
# arithmetic or in a variable name (``let 'a[$(id)]'``, ``read 'a[$(id)]'``).
_SUBSTITUTION_MARKS = ("$(", "`")

# bash's builtins stop reading options at the first operand.
_READ = spec("-a -d -i -n -N -p -t -u", "-e -r -s", permute=False)
_PRINTF = spec("-v", permute=False)
_MAPFILE = spec("-d -n -O -s -u -C -c", "-t", permute=False)

_DEFAULT_NAMES = {"read": "REPLY", "mapfile": "MAPFILE", "readarray": "MAPFILE"}


def evaluates_text(sink: Sink, argv: Argv) -> bool:
    """Report a builtin that evaluates its words as arithmetic or variable names
    when one holds a substitution: bash runs it.  Return whether it did."""
    for word in argv[1:]:
        subscript = word.text[word.text.find("[") :] if "[" in word.text else ""
        if word.is_literal and any(mark in subscript for mark in _SUBSTITUTION_MARKS):
            reason = (
                f"{argv[0].text} evaluates {word.text!r}, running the command "
                "substitution inside it"
            )
            sink.emit(argv, Category.UNMODELLED, reason)
            return True
    return False


def _read_names(argv: Argv) -> list[Word]:
    parsed = parse_options(argv[1:], _READ)
    return [*parsed.values("-a"), *parsed.operands]


def _printf_names(argv: Argv) -> list[Word]:
    return parse_options(argv[1:], _PRINTF).values("-v")


def _mapfile_names(argv: Argv) -> list[Word]:
    parsed = parse_options(argv[1:], _MAPFILE)
    return parsed.operands[:1]


def _setting(find: Callable[[Argv], list[Word]], what: str) -> Handler:
    """A builtin that sets the variables `find` returns the names of."""

    def handle(sink: Sink, argv: Argv) -> None:
        name = name_of(argv[0])
        if evaluates_text(sink, argv):
            return
        sink.emit(argv, Category.READ, f"{name} {what}")
        for word in find(argv):
            if not word.is_literal:
                reason = f"{name} sets a variable named only at run time: {word.text}"
                sink.emit(argv, Category.UNMODELLED, reason)
                continue
            value = Word(f"what {name} reads", WordKind.DYNAMIC)
            sink.environment(argv, word.text.split("[", 1)[0], value)

    return handle


def _mapfile(sink: Sink, argv: Argv) -> None:
    """mapfile: sets an array; ``-C TEXT`` is shell text it runs for each line."""
    _setting(_mapfile_names, "reads lines into an array")(sink, argv)
    for callback in parse_options(argv[1:], _MAPFILE).values("-C"):
        sink.shell(argv, callback, fresh=False)


VARIABLE_BUILTINS: Mapping[str, Handler] = {
    "read": _setting(_read_names, "reads a line into a variable"),
    "printf": _setting(_printf_names, "prints formatted text"),
    "mapfile": _mapfile,
    "readarray": _mapfile,
}
"""The builtins that set the variables their words name, by name."""
