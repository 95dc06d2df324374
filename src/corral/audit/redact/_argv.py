"""Mask a command's secret words, in an argv or in a shell line.

The word after a secret option (``--token X``) is masked, and so are the
words its program's rule names (`corral.audit.redact._programs`); a shell
line is split into commands and words first, quotes kept where they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from shlex import quote

from corral.audit.redact._env import _is_password_name, _is_plain_value
from corral.audit.redact._programs import _PROGRAM_HINTS, _program_secrets
from corral.audit.redact._text import _OPTION_NAMES, _is_reference_spec
from corral.audit.redact._value import _mask_value

# Options followed by their secret as the next word of an argv.
_SECRET_OPTION = re.compile(r"--?(?i:" + _OPTION_NAMES + ")", re.ASCII)
# USER:PASSWORD options any program means the same by; -u and --user are
# curl's rule (for docker, sudo or chown they name a user and group).
_USER_OPTIONS = frozenset({"--creds", "--src-creds", "--dest-creds"})


def _mask_option_values(items: Sequence[object]) -> Sequence[object]:
    """`items` with the word after each secret option (``--token X``) masked."""
    masked: list[object] | None = None
    for index in range(1, len(items)):
        option, word = items[index - 1], items[index]
        if not (isinstance(option, str) and option[:1] == "-"):
            continue
        if not isinstance(word, str):
            continue
        name = option.lstrip("-")
        if _SECRET_OPTION.fullmatch(option) and word and word[0] != "-":
            if _is_plain_value(name, word) or _is_reference_spec(name, word):
                continue
            shown = _mask_value(word, paths=not _is_password_name(name))
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
    if not password or password[0] == "-":
        return word
    return f"{user}:{_mask_value(password, paths=False)}"


def _mask_program_words(items: Sequence[object]) -> Sequence[object]:
    """`items`, a command's words, with its program's secrets masked."""
    if len(items) < 2 or not all(isinstance(item, str) for item in items):
        return items
    words = [str(item) for item in items]
    masked: list[object] | None = None
    for index, begin, end in _program_secrets(words):
        word = words[index]
        stop = len(word) if end is None else end
        secret = _mask_value(word[begin:stop], paths=False)
        shown = word[:begin] + secret + word[stop:]
        if shown != word:
            masked = masked or list(items)
            masked[index] = shown
    return items if masked is None else masked


# A shell line's words (quotes kept), a continued line (white space to the
# shell), and what separates its commands.
_SHELL_TOKEN = re.compile(
    r"(?P<word>(?:[^\s'\"\\;&|()<>`]|\\[^\n]|'[^']*'?|\"(?:[^\"\\]|\\[\s\S])*\"?)+)"
    r"|(?P<continued>\\\n)|[;&|()<>`\n]"
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


# Shell lines inside a word read as well (ssh host 'mysql -pX', sh -c '...'):
# this many levels of quoting, so nesting cannot multiply the work.
_MAX_NESTED = 2


def _mask_shell_line(text: str, depth: int = 0) -> str:
    """`text` with the secrets of each command it holds masked, by program.

    A word that is itself a shell line (a remote command, a ``sh -c``
    script) is read as one, and put back in single quotes when masked.
    """
    commands: list[list[re.Match[str]]] = [[]]
    for token in _SHELL_TOKEN.finditer(text):
        if token.lastgroup == "word":
            commands[-1].append(token)
        elif token.lastgroup == "continued":
            continue
        elif commands[-1]:
            commands.append([])
    edits = []
    for command in commands:
        if len(command) < 2:
            continue
        words = [_unquote(token.group()) for token in command]
        edited = set()
        for index, begin, end in _program_secrets(words):
            edit = _shell_edit(command[index], words[index], begin, end)
            if edit is not None and index not in edited:
                edits.append(edit)
                edited.add(index)
        if depth < _MAX_NESTED:
            edits += _nested_edits(command, words, edited, depth)
    if not edits:
        return text
    out, at = [], 0
    for begin, end, shown in sorted(edits):
        out += [text[at:begin], shown]
        at = end
    return "".join(out) + text[at:]


def _nested_edits(
    command: list[re.Match[str]], words: list[str], edited: set[int], depth: int
) -> list[tuple[int, int, str]]:
    """Edits of the words of `command` that are shell lines holding secrets."""
    edits = []
    for index, word in enumerate(words):
        if index in edited or word == command[index].group():
            continue  # not quoted: its words were read with the command's
        if _may_name_a_program(word):
            inner = _mask_shell_line(word, depth + 1)
            if inner != word:
                edits.append(
                    (command[index].start(), command[index].end(), quote(inner))
                )
    return edits


def _shell_edit(
    token: re.Match[str], word: str, offset: int, stop: int | None
) -> tuple[int, int, str] | None:
    """The edit of `token` (shell text, valued `word`) masking word[offset:stop]."""
    shown = _mask_value(word[offset:stop], paths=False)
    if shown == word[offset:stop]:
        return None
    raw, begin, end = token.group(), token.start(), token.end()
    if stop is not None:
        kept = word[:offset] + shown + word[stop:]
        return (
            (begin + offset, begin + stop, shown) if raw == word else (begin, end, kept)
        )
    if raw[:offset] != word[:offset]:
        return begin, end, word[:offset] + shown
    tail = raw[offset:]
    quote = tail[:1]
    if quote in ("'", '"') and len(tail) > 1 and tail[1:].find(quote) == len(tail) - 2:
        return begin + offset + 1, end - 1, shown  # keep the quotes
    return begin + offset, end, shown
