"""Shells and the shell's own builtins: ``sh -c``, ``source``, ``eval``, ``trap``.

A shell given a script string (``bash -lc '...'``) or commands on stdin has
that text parsed and classified in turn; a script file it runs is code from
the workspace.  Builtins that only inspect or print are reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Entry,
    Handler,
    Sink,
    Table,
    entry,
    name_of,
)
from corral.approvals.catalog._variables import VARIABLE_BUILTINS, evaluates_text

__all__ = ["BUILTIN_NAMES", "SHELL_PROGRAMS", "dialect_problem", "evaluates_text"]

# An arithmetic expression made of numbers and operators alone: nothing in it
# can hold a command.
# As text: `re` compiles it on first use, and keeps it.
_NUMBERS_ONLY = r"\A[0-9\s+\-*/%()<>=!&|^~?:,]*\Z"


_READ = Category.READ

# Shells whose syntax is bash's, or close enough that bash's grammar reads it.
_POSIX_SHELLS = (
    "sh",
    "bash",
    "rbash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "lksh",
    "ash",
    "yash",
    "posh",
)
# Shells with a syntax of their own: a script string cannot be parsed.
_OTHER_SHELLS = ("fish", "csh", "tcsh", "nu", "pwsh", "xonsh", "elvish", "rc")
# Shells that read bash's grammar itself; the others read it only in part.
_BASH_NAMES = frozenset({"bash", "rbash"})
# POSIX shells with ``[[`` and ``((`` as keywords; in the others (dash, ash)
# ``[[`` is a command and ``((`` two subshells, where ``<`` and ``>`` redirect.
_KEYWORD_SHELLS = frozenset({"zsh", "ksh", "mksh", "lksh"})
# Where a word starts (a ``#`` there starts a comment, ``[[`` a keyword).
_WORD_STARTS = frozenset(" \t\n;&|(){}")

# Short options of bash-like shells that take the next word as their value.
_VALUED_SHORT = frozenset("oO")
_VALUED_LONG = frozenset({"--rcfile", "--init-file"})
# Shell options that make the text mean something other than it reads.
_UNMODELLED_SHOPTS = frozenset({"expand_aliases"})


def _shell(sink: Sink, argv: Argv) -> None:
    """A bash-like shell: ``-c STRING``, a script file, or commands on stdin."""
    name = name_of(argv[0])
    index, flags = _shell_options(sink, argv)
    operands = argv[index:]
    if "c" in flags:
        if operands:
            sink.shell(argv, operands[0], dialect=name)
        else:
            sink.emit(argv, _READ, f"{name} -c without a script runs nothing")
    elif "s" in flags or not operands:
        sink.shell(argv, None, dialect=name)
    else:
        _script_file(sink, argv, operands[0])


def dialect_problem(text: str, dialect: str) -> str | None:
    """Return why the shell `dialect` may read `text` otherwise than bash reads it,
    or None when both read it alike.

    bash's grammar reads the text whatever shell runs it.  Where a shell parses
    a construct otherwise (dash has no ``$'...'``: its quotes end elsewhere),
    what that shell runs is not what corral read.
    """
    if dialect in _BASH_NAMES:
        return None
    if dialect in _OTHER_SHELLS:
        return f"{dialect} commands are not in a syntax corral parses"
    keywords = dialect not in _KEYWORD_SHELLS
    try:
        found = _Lexer(text, keywords=keywords).differs()
    except _UnsureError:
        found = _anywhere(text, keywords=keywords)
    if found is None:
        return None
    return f"{dialect} does not read {found} as bash does: what it runs is not known"


class _UnsureError(Exception):
    """The text holds quoting the lexer does not follow (a heredoc, backquotes)."""


def _anywhere(text: str, *, keywords: bool) -> str | None:
    """The constructs bash and sh read apart, looked for anywhere in `text`."""
    for mark, shown in (("$'", "$'...'"), ('$"', '$"..."')):
        if mark in text:
            return shown
    if keywords and re.search(r"(?<!\$)(\[\[|\(\()", text):
        return "[[ or (("
    return None


class _Lexer:
    """POSIX quoting, read far enough to find the constructs bash reads apart.

    A frame is what the text is in: ``code`` (the top, a subshell, ``$(...)``,
    ``${...}``) or ``"`` (double quotes).  Only ``'``, ``"``, ``\\``, ``$``
    and comments change how what follows is quoted; wherever the lexer could
    lose its place it gives up (`_UnsureError`).
    """

    def __init__(self, text: str, *, keywords: bool) -> None:
        self.text = text
        self.keywords = keywords
        self.frames = ["top"]
        self.at = 0

    def differs(self) -> str | None:
        if re.search(r"\bcase\b", self.text) or "`" in self.text:
            # A case pattern's ")" and backquotes' own escapes move the quoting.
            raise _UnsureError
        while self.at < len(self.text):
            found = self._step()
            if found is not None:
                return found
        if self.frames != ["top"]:
            raise _UnsureError
        return None

    def _step(self) -> str | None:
        text, at = self.text, self.at
        char, pair = text[at], text[at : at + 2]
        self.at += 1
        if char == "\\":
            self.at += 1
        elif self.frames[-1] == '"':
            self._quoted(char, pair)
        elif pair in ("$'", '$"'):
            return f"{pair}...{pair[1]}"
        elif self.keywords and self._word_start(at) and pair in ("[[", "(("):
            return pair
        else:
            self._code(char, pair)
        return None

    def _word_start(self, at: int) -> bool:
        return at == 0 or self.text[at - 1] in _WORD_STARTS

    def _quoted(self, char: str, pair: str) -> None:
        """Inside double quotes only ``$(``, ``${`` and the closing ``"`` count."""
        if char == '"':
            self.frames.pop()
        elif pair in ("$(", "${"):
            # Quotes inside ${...} within double quotes differ between shells.
            self.frames.append("$(" if pair == "$(" else '"{')
            self.at += 1

    def _code(self, char: str, pair: str) -> None:
        frame = self.frames[-1]
        if char == "'":
            if frame == '"{':
                raise _UnsureError
            end = self.text.find("'", self.at)
            if end < 0:
                raise _UnsureError
            self.at = end + 1
        elif char == '"':
            self.frames.append('"')
        elif pair in ("$(", "${"):
            self.frames.append(pair)
            self.at += 1
        elif char == "(":
            self.frames.append("(")
        elif char == ")":
            if frame not in ("(", "$("):
                raise _UnsureError
            self.frames.pop()
        elif char == "}" and frame in ("${", '"{'):
            self.frames.pop()
        elif char == "#" and self._word_start(self.at - 1):
            end = self.text.find("\n", self.at)
            self.at = len(self.text) if end < 0 else end
        elif pair == "<<":
            if self.text[self.at + 1 : self.at + 2] != "<":
                # A heredoc's body is quoted as its delimiter says.
                raise _UnsureError
            self.at += 2


def _shell_options(sink: Sink, argv: Argv) -> tuple[int, set[str]]:
    """Read a shell's options; return where its operands start, and its flags."""
    name = name_of(argv[0])
    index, flags = 1, set()
    while index < len(argv):
        word = argv[index]
        text = word.text
        if not word.is_literal or len(text) < 2 or text[0] not in "-+":
            break
        index += 1
        if text in ("--", "-"):
            break
        if text.startswith("--"):
            if text in _VALUED_LONG and index < len(argv):
                what = f"{name} runs {argv[index].text} at start-up"
                sink.emit(argv, Category.EXECUTE, what)
                index += 1
            continue
        for char in text[1:]:
            flags.add(char)
            if char not in _VALUED_SHORT or index >= len(argv):
                continue
            if (
                char == "O"
                and text[0] == "-"
                and argv[index].text in _UNMODELLED_SHOPTS
            ):
                what = f"{name} -O {argv[index].text} makes aliases expand, unfollowed"
                sink.emit(argv, Category.UNMODELLED, what)
            index += 1
    return index, flags


# Files that are the shell's own standard input.
_STDIN_FILES = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-"})


def _script_file(
    sink: Sink, argv: Argv, script: Word, *, sourced: bool = False
) -> None:
    """A shell running the commands of a file: workspace code, named in `scripts`.

    A file only known at run time (``source <(...)``, ``bash "$F"``) could hold
    anything, and /dev/stdin holds what the command shows on stdin.
    """
    name = name_of(argv[0])
    what = "runs, in this shell, the commands in" if sourced else "runs the script"
    if not script.is_literal:
        reason = f"{name} {what} {script.text}, only known at run time"
        sink.emit(argv, Category.UNMODELLED, reason)
    elif script.text in _STDIN_FILES:
        dialect = "bash" if sourced else name
        sink.shell(argv, None, fresh=not sourced, dialect=dialect)
    else:
        scripts = sink.scripts([script.text])
        reason = f"{name} {what} {script.text}"
        sink.emit(argv, Category.EXECUTE, reason, scripts=scripts)


def _other_shell(sink: Sink, argv: Argv) -> None:
    """A shell whose syntax corral does not parse."""
    name = name_of(argv[0])
    texts = {word.text for word in argv[1:]}
    if texts & {"-c", "--command", "-Command", "-command"} or len(argv) == 1:
        sink.emit(
            argv,
            Category.UNMODELLED,
            f"{name} commands are not in a syntax corral parses",
        )
    else:
        _script_file(sink, argv, argv[-1])


def _source(sink: Sink, argv: Argv) -> None:
    """source FILE / . FILE: runs a file's commands in this very shell."""
    if len(argv) < 2:
        sink.emit(argv, _READ, f"{name_of(argv[0])} without a file runs nothing")
        return
    _script_file(sink, argv, argv[1], sourced=True)


def _eval(sink: Sink, argv: Argv) -> None:
    """eval: its words, joined with spaces, are parsed and run in this shell."""
    words = argv[1:]
    if not words:
        sink.emit(argv, _READ, "eval without words runs nothing")
    elif all(word.is_literal for word in words):
        sink.shell(argv, Word(" ".join(word.text for word in words)), fresh=False)
    else:
        shown = " ".join(word.text for word in words)
        sink.emit(
            argv, Category.UNMODELLED, f"eval runs text only known at run time: {shown}"
        )


def _trap(sink: Sink, argv: Argv) -> None:
    """trap 'COMMANDS' SIGNALS: the commands run in this shell on those signals."""
    words = list(argv[1:])
    if words[:1] and words[0].text == "--":
        words = words[1:]
    if not words or words[0].text.startswith("-") or len(words) == 1:
        sink.emit(argv, _READ, "trap lists or resets signal handlers")
        return
    action = words[0]
    if action.is_literal and not action.text:
        sink.emit(argv, _READ, "trap '' ignores signals")
    else:
        sink.shell(argv, action, fresh=False)


def _evaluating(what: str) -> Handler:
    """let, test, read, unset, ...: a read, unless a word evaluates to a command."""

    def handle(sink: Sink, argv: Argv) -> None:
        if not evaluates_text(sink, argv):
            sink.emit(argv, _READ, f"{name_of(argv[0])} {what}")

    return handle


def _let(sink: Sink, argv: Argv) -> None:
    """let: arithmetic; a variable's value there is evaluated too, commands and all."""
    if all(word.is_literal and re.match(_NUMBERS_ONLY, word.text) for word in argv[1:]):
        sink.emit(argv, _READ, "let evaluates arithmetic on numbers")
    else:
        sink.emit(
            argv,
            Category.UNMODELLED,
            "let evaluates variables' values as arithmetic, which can run commands",
        )


def _callback(option: str, what: str) -> Handler:
    """mapfile -C, compgen -C: the option's value is shell text run by the builtin."""

    def handle(sink: Sink, argv: Argv) -> None:
        texts = [w.text for w in argv]
        sink.emit(argv, _READ, f"{name_of(argv[0])} {what}")
        for index, text in enumerate(texts[:-1]):
            if text == option:
                sink.shell(argv, argv[index + 1], fresh=False)

    return handle


def _history(sink: Sink, argv: Argv) -> None:
    """history: lists the history; ``-w FILE``/``-a FILE`` write it to a file."""
    texts = [w.text for w in argv[1:]]
    writes = any(t.startswith("-") and set(t[1:]) & set("wa") for t in texts)
    files = [w for w in argv[1:] if not w.text.startswith("-")]
    if writes and files:
        sink.write(argv, files[-1])
    sink.emit(argv, _READ, "history lists or saves the shell history")


def _alias(sink: Sink, argv: Argv) -> None:
    """alias NAME=TEXT: TEXT runs wherever NAME is expanded as a command.

    sh (dash), bash in posix mode or started with ``-i``, zsh and ksh expand
    aliases in scripts, so which later words are replaced is not known.
    """
    defined = False
    for word in argv[1:]:
        name, equals, value = word.text.partition("=")
        if equals and name:
            defined = True
            sink.shell(argv, Word(value, word.kind), fresh=False)
    if defined:
        sink.emit(argv, Category.UNMODELLED, "an alias changes what later words run")
    else:
        sink.emit(argv, _READ, "alias lists aliases")


BUILTINS: Mapping[str, Entry] = {
    "echo": entry(_READ, "prints its arguments"),
    "true": entry(_READ, "does nothing"),
    "false": entry(_READ, "does nothing"),
    ":": entry(_READ, "does nothing"),
    "shift": entry(_READ, "shifts the positional parameters"),
    "exit": entry(_READ, "ends the shell"),
    "logout": entry(_READ, "ends the shell"),
    "return": entry(_READ, "returns from a function"),
    "break": entry(_READ, "leaves a loop"),
    "continue": entry(_READ, "continues a loop"),
    "jobs": entry(_READ, "lists background jobs"),
    "fg": entry(_READ, "brings a job to the foreground"),
    "bg": entry(_READ, "resumes a job in the background"),
    "disown": entry(_READ, "forgets a background job"),
    "suspend": entry(_READ, "suspends the shell"),
    "times": entry(_READ, "prints process times"),
    "ulimit": entry(_READ, "shows or lowers resource limits"),
    "umask": entry(_READ, "shows or sets the file mode mask"),
    "getopts": entry(_READ, "parses options"),
    "caller": entry(_READ, "prints the calling frame"),
    "complete": entry(_READ, "sets completions for interactive shells"),
    "compopt": entry(_READ, "sets completion options"),
    "bind": entry(_READ, "sets key bindings for interactive shells"),
    "help": entry(_READ, "prints help on builtins"),
    "type": entry(_READ, "says what a name would run"),
    "unalias": entry(_READ, "removes aliases"),
    "set": entry(_READ, "sets shell options or positional parameters"),
    "dirs": entry(_READ, "lists the directory stack"),
    "fc": entry(Category.UNMODELLED, "runs commands from the shell history"),
}
"""The shell's own commands that only inspect, print or set shell state."""

SHELL_PROGRAMS: Table = {
    **BUILTINS,
    **dict.fromkeys(_POSIX_SHELLS, _shell),
    **dict.fromkeys(_OTHER_SHELLS, _other_shell),
    "source": _source,
    ".": _source,
    "eval": _eval,
    "trap": _trap,
    "alias": _alias,
    "history": _history,
    **VARIABLE_BUILTINS,
    "compgen": _callback("-C", "lists completions"),
    "let": _let,
    **{
        name: _evaluating(what)
        for name, what in (
            ("test", "tests a condition"),
            ("[", "tests a condition"),
            ("[[", "tests a condition"),
            ("unset", "removes variables or functions"),
            ("wait", "waits for background jobs"),
        )
    },
}
"""Shells and stateless builtins, by name."""

BUILTIN_NAMES = frozenset(SHELL_PROGRAMS) - frozenset(_POSIX_SHELLS + _OTHER_SHELLS)
"""The shell's own commands, which no program's environment variable changes."""
