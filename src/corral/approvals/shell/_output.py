"""What ``echo``, ``printf`` and ``cat`` print, when their words alone decide it.

A pipeline that feeds known text into a shell or interpreter
(``printf 'rm -rf ~' | bash``) is only seen through if the parser knows the
text; these functions compute it as bash's builtins would, or say it is dynamic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corral.approvals._model import Invocation, Word, WordKind
from corral.approvals.shell._escapes import EscapeMode, decode_escapes

__all__ = ["stdout_of"]

# echo and printf are read as bash's builtins, so only by their bare names.
_CATS = frozenset({"cat", "/bin/cat", "/usr/bin/cat"})
_ECHO_OPTIONS = re.compile(r"-[neE]+")
# A conversion in a printf format, or a backslash and the character it escapes
# (a `%` after a backslash still starts a conversion: bash prints the `\`).
_FORMAT_TOKEN = re.compile(r"\\[^%]|%(?P<spec>[^a-zA-Z%]*[a-zA-Z%]?)", re.DOTALL)
# Integers printf's %d reads as written: no octal, hex or character forms, and
# few enough digits that bash's 64-bit arithmetic cannot overflow.
_PLAIN_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,17})")
_STDOUT_OPERATORS = frozenset({">", ">>", ">|", "&>", "&>>", ">&", ">&-"})


def stdout_of(invocation: Invocation) -> Word | None:
    """Return what `invocation` writes to its stdout, if it is echo, printf or cat.

    None when the command is none of them or its output goes elsewhere; a
    DYNAMIC word (its source) when it is one of them but its words do not
    decide the text.
    """
    words = invocation.words
    if not words or not words[0].is_literal or _stdout_redirected(invocation):
        return None
    program, args = words[0].text, words[1:]
    if program in _CATS:
        if all(word.is_literal and word.text == "-" for word in args):
            return invocation.stdin_text
        return None
    builtin = _BUILTINS.get(program)
    if builtin is None:
        return None
    text = builtin([w.text for w in args]) if _all_literal(args) else None
    if text is None:
        return Word(invocation.source, WordKind.DYNAMIC)
    return Word(text)


def _stdout_redirected(invocation: Invocation) -> bool:
    """Whether a redirection sends the command's stdout somewhere other than on."""
    return any(
        r.operator in _STDOUT_OPERATORS and r.fd in (None, 1)
        for r in invocation.redirects
    )


def _all_literal(words: Sequence[Word]) -> bool:
    return all(word.is_literal for word in words)


def _echo(args: list[str]) -> str | None:
    """Return what bash's ``echo`` prints for `args`, None if it cannot say."""
    newline, escapes = True, False
    while args and _ECHO_OPTIONS.fullmatch(args[0]):
        for option in args.pop(0)[1:]:
            if option == "n":
                newline = False
            else:
                escapes = option == "e"
    text = " ".join(args)
    if escapes:
        decoded = decode_escapes(text, EscapeMode.ECHO)
        if decoded is None:
            return None
        text, stopped = decoded
        if stopped:
            return text
    return text + "\n" if newline else text


def _printf(args: list[str]) -> str | None:
    """Return what bash's ``printf`` prints for `args`, None if it cannot say.

    Only ``%s``, ``%b``, ``%d``, ``%i`` and ``%%`` without flags or widths are
    read; the format is reused while arguments remain, as printf reuses it.
    """
    if args[:1] == ["-v"]:
        return ""  # the text goes to a variable
    if args[:1] == ["--"]:
        args = args[1:]
    elif args and args[0].startswith("-") and args[0] != "-":
        return None
    if not args:
        return None
    format_, values = args[0], args[1:]
    out: list[str] = []
    while True:
        once = _format_once(format_, values)
        if once is None:
            return None
        text, used, stopped = once
        out.append(text)
        values = values[used:]
        if stopped or not used or not values:
            return "".join(out)


def _format_once(format_: str, values: list[str]) -> tuple[str, int, bool] | None:
    """Print `format_` once: the text, how many values it used, whether it stopped."""
    out: list[str] = []
    used = 0
    position = 0
    for match in _FORMAT_TOKEN.finditer(format_):
        spec = match.group("spec")
        if spec is None:
            continue
        literal = decode_escapes(
            format_[position : match.start()], EscapeMode.PRINTF_FORMAT
        )
        if literal is None:
            return None
        out.append(literal[0])
        position = match.end()
        if spec == "%":
            out.append("%")
            continue
        value = values[used] if used < len(values) else None
        used += value is not None
        converted = _convert(spec, value)
        if converted is None:
            return None
        out.append(converted[0])
        if converted[1]:
            return "".join(out), used, True
    literal = decode_escapes(format_[position:], EscapeMode.PRINTF_FORMAT)
    if literal is None:
        return None
    out.append(literal[0])
    return "".join(out), used, False


def _convert(spec: str, value: str | None) -> tuple[str, bool] | None:
    """Return one conversion's text and whether ``\\c`` stopped the output."""
    if spec == "s":
        return value or "", False
    if spec == "b":
        return decode_escapes(value or "", EscapeMode.PRINTF_B)
    if spec in ("d", "i"):
        if value is None:
            return "0", False
        if not _PLAIN_INTEGER.fullmatch(value):
            return None
        return str(int(value)), False
    return None


_BUILTINS = {"echo": _echo, "printf": _printf}
