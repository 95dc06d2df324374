"""Expansions the text of a word alone decides: tilde, braces, pathname patterns.

A word is read as characters, each marked quoted or not; only unquoted ones
expand.  Tilde-prefixes are replaced by the home directory; brace expansion
and pathname patterns are only detected, for the word's kind.
"""

from __future__ import annotations

import itertools
import re

__all__ = [
    "Piece",
    "expand_tildes",
    "has_brace_expansion",
    "has_glob",
    "split_chars",
]

Piece = tuple[str, bool]
"""Text and whether it was quoted: a part of a word, or one character of it."""

# The start of an argument bash reads as an assignment (tilde expands after `=`).
_ASSIGNMENT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_GLOB_CHARS = frozenset("*?[")
_EXTGLOB_OPENERS = frozenset("?*+@!")


def split_chars(parts: list[Piece]) -> list[Piece]:
    """Split `parts` into characters; an empty quoted part stays, as ``("", True)``."""
    chars: list[Piece] = []
    for text, quoted in parts:
        if text:
            chars.extend((c, quoted) for c in text)
        elif quoted:
            chars.append(("", True))
    return chars


def expand_tildes(
    chars: list[Piece], home: str | None, *, assignment: bool, argument: bool
) -> list[Piece] | None:
    """Expand the tilde-prefixes bash expands; None when one depends on run time.

    A prefix starts the word or, in an `assignment` (or an `argument` written
    like one, ``make DESTDIR=~/x``), follows the first ``=`` or an unquoted
    ``:``; it runs to the next unquoted ``/`` (or ``:`` there).  ``~`` alone
    is `home`; ``~user``, ``~+`` and ``~-`` depend on run time.
    """
    starts = [0]
    colons = assignment
    if argument:
        lead = "".join(c for c, _ in itertools.takewhile(_unquoted, chars))
        match = _ASSIGNMENT_LIKE.match(lead)
        if match:
            starts.append(match.end())
            colons = True
    if colons:
        starts.extend(i + 1 for i, (c, q) in enumerate(chars) if c == ":" and not q)
    out: list[Piece] = []
    position = 0
    for start in sorted(set(starts)):
        if start < position or start >= len(chars) or chars[start] != ("~", False):
            continue
        end = start + 1
        while end < len(chars):
            c, quoted = chars[end]
            if not quoted and (c == "/" or (colons and c == ":")):
                break
            end += 1
        prefix = chars[start + 1 : end]
        if any(quoted for _, quoted in prefix):
            continue
        if prefix or home is None:
            return None
        out.extend(chars[position:start])
        out.append((home, True))
        position = end
    out.extend(chars[position:])
    return out


def _unquoted(piece: Piece) -> bool:
    return not piece[1]


def has_brace_expansion(chars: list[Piece]) -> bool:
    """Whether an unquoted ``{...,...}`` or ``{x..y}`` may expand to several words.

    Errs towards yes: any unquoted ``{``, then ``,`` or ``..``, then ``}``.
    bash's own matching of braces has corners (``{},}`` is ``}`` and empty),
    and a brace pair it leaves alone only costs precision.
    """
    state = 0
    previous = ""
    for c, quoted in chars:
        if quoted:
            previous = ""
            continue
        if state == 0 and c == "{":
            state = 1
        elif state == 1 and (c == "," or (c == "." and previous == ".")):
            state = 2
        elif state == 2 and c == "}":
            return True
        previous = c
    return False


def has_glob(chars: list[Piece]) -> bool:
    """Whether unquoted pattern characters make the word a pathname pattern."""
    previous = ("", True)
    for c, quoted in chars:
        if not quoted and (
            c in _GLOB_CHARS
            or (c == "(" and not previous[1] and previous[0] in _EXTGLOB_OPENERS)
        ):
            return True
        previous = (c, quoted)
    return False
