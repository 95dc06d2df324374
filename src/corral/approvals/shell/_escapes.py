"""Backslash escapes as bash decodes them in ``$'...'``, ``echo -e`` and ``printf``.

The three differ in small ways (which octal forms they take, whether ``\\c``
stops the output, which quote escapes they know); one decoder, told which of
them it reads, gives the same text bash would.
"""

from __future__ import annotations

import enum

__all__ = ["EscapeMode", "decode_escapes"]


class EscapeMode(enum.Enum):
    """Which of bash's escape dialects a text is written in."""

    ANSI_C = "ansi-c"
    """``$'...'``: ``\\nnn``, ``\\cX``, ``\\'``, ``\\"``, ``\\?``."""
    ECHO = "echo"
    """``echo -e``: ``\\0nnn`` only, ``\\c`` stops the output."""
    PRINTF_B = "printf-b"
    """printf's ``%b`` arguments: ``\\0nnn`` and ``\\nnn``, ``\\c`` stops the output."""
    PRINTF_FORMAT = "printf-format"
    """printf's format string: ``\\nnn``, ``\\"``, ``\\?``; ``\\c`` is kept."""


_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}
_QUOTES = {
    EscapeMode.ANSI_C: {"'": "'", '"': '"', "?": "?"},
    EscapeMode.ECHO: {},
    EscapeMode.PRINTF_B: {},
    EscapeMode.PRINTF_FORMAT: {'"': '"', "?": "?"},
}
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdefABCDEF")
# How many digits each numeric escape takes at most, as bash reads them.
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
# The largest code point a character can have; bash writes bytes past it.
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def _digits(text: str, start: int, allowed: frozenset[str], most: int) -> int:
    """Return the end of the run of at most `most` `allowed` characters at `start`."""
    end = start
    while end < len(text) and end - start < most and text[end] in allowed:
        end += 1
    return end


def _byte(value: int) -> str:
    """Return the byte `value` as text: itself when ASCII, else its escaped form.

    Bytes past ASCII are held as ``os.fsdecode`` holds them, and joined into
    characters once the whole text is decoded (``\\xc3\\xa9`` is one ``é``).
    """
    value &= 0xFF
    return chr(value) if value < 0x80 else chr(0xDC00 + value)


def _char(code: int) -> str | None:
    """Return the character for `code`, or None when bash would write raw bytes."""
    if code > _MAX_CODE_POINT or code in _SURROGATES:
        return None
    return chr(code)


def _control(text: str, i: int) -> tuple[str | None, int]:
    """Decode ``\\cX`` whose X is at `i`: the character and where decoding resumes."""
    x = text[i]
    if x == "\\" and text.startswith("\\", i + 1):
        i += 1
    if not x.isascii():
        return None, i + 1
    return ("\x7f" if x == "?" else chr(ord(x.upper()) & 0x1F)), i + 1


def _octal(text: str, i: int, mode: EscapeMode) -> tuple[str, int] | None:
    """Decode an octal escape whose first character after the backslash is at `i`."""
    if mode in (EscapeMode.ECHO, EscapeMode.PRINTF_B) and text[i] == "0":
        end = _digits(text, i + 1, _OCTAL, 3)
        return _byte(int(text[i + 1 : end] or "0", 8)), end
    if mode is EscapeMode.ECHO:
        return None
    end = _digits(text, i, _OCTAL, 3)
    return _byte(int(text[i:end], 8)), end


def decode_escapes(text: str, mode: EscapeMode) -> tuple[str, bool] | None:
    """Decode the escapes in `text` as `mode` does.

    Return the text and whether a ``\\c`` stopped it there, or None when an
    escape names something that is not a character (bash then writes raw bytes
    whose meaning depends on the locale).
    """
    if "\\" not in text:
        return text, False
    out: list[str] = []
    stopped = False
    quotes = _QUOTES[mode]
    i, n = 0, len(text)
    while i < n:
        j = text.find("\\", i)
        if j < 0 or j == n - 1:
            out.append(text[i:])
            break
        out.append(text[i:j])
        c = text[j + 1]
        i = j + 2
        if c in _SIMPLE:
            out.append(_SIMPLE[c])
        elif c in quotes:
            out.append(quotes[c])
        elif c in _OCTAL and (octal := _octal(text, j + 1, mode)) is not None:
            out.append(octal[0])
            i = octal[1]
        elif c in _HEX_DIGITS and (end := _digits(text, i, _HEX, _HEX_DIGITS[c])) > i:
            code = int(text[i:end], 16)
            char = _byte(code) if c == "x" else _char(code)
            if char is None:
                return None
            out.append(char)
            i = end
        elif c == "c" and mode in (EscapeMode.ECHO, EscapeMode.PRINTF_B):
            stopped = True
            break
        elif c == "c" and mode is EscapeMode.ANSI_C and i < n:
            control, i = _control(text, i)
            if control is None:
                return None
            out.append(control)
        else:
            out.append("\\" + c)
    joined = _joined(out)
    return None if joined is None else (joined, stopped)


def _joined(parts: list[str]) -> str | None:
    """Join decoded `parts`, turning escaped bytes that spell UTF-8 into characters."""
    text = "".join(parts)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None
    return raw.decode("utf-8", "surrogateescape")
