"""Mask a command's secret words, in an argv or in a shell line.

The word after a secret option (``--token X``) is masked, and so are the
words its program's rule names (`corral.audit._redact_programs`); a shell
line is split into commands and words first, quotes kept where they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corral.audit._redact_programs import _PROGRAM_HINTS, _program_secrets
from corral.audit._redact_text import _OPTION_NAMES
from corral.audit._redact_value import _mask_value

# Options followed by their secret as the next word of an argv.
_SECRET_OPTION = re.compile(r"--?(?i:" + _OPTION_NAMES + ")", re.ASCII)
_USER_OPTIONS = frozenset(
    {"-u", "--user", "--proxy-user", "--creds", "--src-creds", "--dest-creds"}
)


def _mask_option_values(items: Sequence[object]) -> Sequence[object]:
    """`items` with the word after each secret option (``--token X``) masked."""
    masked: list[object] | None = None
    for index in range(1, len(items)):
        option, word = items[index - 1], items[index]
        if not (isinstance(option, str) and option[:1] == "-"):
            continue
        if not isinstance(word, str):
            continue
        if _SECRET_OPTION.fullmatch(option) and word and word[0] != "-":
            shown = _mask_value(word)
        elif option in _USER_OPTIONS and ":" in word:
            shown = _mask_user_password(word)
        else:
            continue
        if shown == word:
            continue
        masked = masked or list(items)
        masked[index] = shown
    return items if masked is None else masked


def _mask_user_password(word: str) -> str:
    user, _, password = word.partition(":")
    if not password or password.isdigit() or password[0] == "-":
        return word  # uid:gid
    return f"{user}:{_mask_value(password)}"


def _mask_program_words(items: Sequence[object]) -> Sequence[object]:
    """`items`, a command's words, with its program's secrets masked."""
    if len(items) < 2 or not all(isinstance(item, str) for item in items):
        return items
    words = [str(item) for item in items]
    masked: list[object] | None = None
    for index, offset in _program_secrets(words):
        word = words[index]
        shown = word[:offset] + _mask_value(word[offset:])
        if shown != word:
            masked = masked or list(items)
            masked[index] = shown
    return items if masked is None else masked


# A shell line's words (quotes kept), and what separates its commands.
_SHELL_TOKEN = re.compile(
    r"(?P<word>(?:[^\s'\"\\;&|()<>`]|\\.|'[^']*'?|\"(?:[^\"\\]|\\.)*\"?)+)"
    r"|[;&|()<>`\n]"
)
_QUOTED_PIECE = re.compile(r"'([^']*)'?|\"((?:[^\"\\]|\\.)*)\"?|\\(.)|([^'\"\\]+)")
_ESCAPE = re.compile(r"\\(.)")


def _may_name_a_program(text: str) -> bool:
    """Whether `text` can be a shell line naming one of `_PROGRAMS`."""
    return " " in text and any(hint in text for hint in _PROGRAM_HINTS)


def _unquote(word: str) -> str:
    """`word` as the shell passes it on: quotes and backslashes removed."""
    out = []
    for piece in _QUOTED_PIECE.finditer(word):
        single, double, escaped, bare = piece.groups()
        if double is not None:
            out.append(_ESCAPE.sub(r"\1", double))
        else:
            out.append(single if single is not None else escaped or bare or "")
    return "".join(out)


def _mask_shell_line(text: str) -> str:
    """`text` with the secrets of each command it holds masked, by program."""
    commands: list[list[re.Match[str]]] = [[]]
    for token in _SHELL_TOKEN.finditer(text):
        if token.lastgroup == "word":
            commands[-1].append(token)
        elif commands[-1]:
            commands.append([])
    edits = []
    for command in commands:
        if len(command) < 2:
            continue
        words = [_unquote(token.group()) for token in command]
        for index, offset in _program_secrets(words):
            edit = _shell_edit(command[index], words[index], offset)
            if edit is not None:
                edits.append(edit)
    if not edits:
        return text
    out, at = [], 0
    for begin, end, shown in sorted(edits):
        out += [text[at:begin], shown]
        at = end
    return "".join(out) + text[at:]


def _shell_edit(
    token: re.Match[str], word: str, offset: int
) -> tuple[int, int, str] | None:
    """The edit of `token` (shell text, whose value is `word`) masking word[offset:]."""
    shown = _mask_value(word[offset:])
    if shown == word[offset:]:
        return None
    raw, begin, end = token.group(), token.start(), token.end()
    if raw[:offset] != word[:offset]:
        return begin, end, word[:offset] + shown
    tail = raw[offset:]
    quote = tail[:1]
    if quote in ("'", '"') and len(tail) > 1 and tail[1:].find(quote) == len(tail) - 2:
        return begin + offset + 1, end - 1, shown  # keep the quotes
    return begin + offset, end, shown
