"""The text bash runs for a ``\\`...\\``` substitution, its backslashes removed.

Inside backquotes bash keeps a backslash except before ``$``, a backquote or
another backslash (and, within double quotes, ``"``); it removes those, then
parses what is left again, so ``\\`cmd\\``` inside runs ``cmd``.
"""

from __future__ import annotations

__all__ = ["unescaped"]

_ESCAPED = frozenset("$`\\")
_ESCAPED_IN_DOUBLE_QUOTES = _ESCAPED | {'"'}


def unescaped(inner: str, *, double_quoted: bool) -> str | None:
    """Return the text bash parses for backquotes holding `inner`.

    None when no backslash in `inner` is removed: the text is parsed as it
    stands.
    """
    escapes = _ESCAPED_IN_DOUBLE_QUOTES if double_quoted else _ESCAPED
    if "\\" not in inner:
        return None
    out: list[str] = []
    changed = False
    i = 0
    while i < len(inner):
        c = inner[i]
        if c == "\\" and i + 1 < len(inner) and inner[i + 1] in escapes:
            out.append(inner[i + 1])
            changed = True
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out) if changed else None
