"""GNU sed's script grammar, read as far as it tells what a script writes and runs.

``w``, ``W`` and the ``w`` flag of ``s`` write a file, ``r`` and ``R`` read one,
``e`` and the ``e`` flag of ``s`` run shell commands.  The reader follows sed's
own compiler (addresses, ``!``, then the command and its argument); where sed
versions read a script differently, or the reader cannot, it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["SedScript", "read_script"]

# Commands that take no argument, and those that take an optional number.
_PLAIN = frozenset("=dDFgGhHnNpPzx")
_COUNTED = frozenset("lLqQ")
# Commands followed by a label (``v`` by a version), which ends at the first
# blank, ``;``, ``}`` or ``#``.
_LABELLED = frozenset(":bTtv")
_LABEL_ENDS = frozenset(";}#\n")
# The flags of ``s`` besides ``e``, ``w`` and a number.
_S_FLAGS = frozenset("gpiImM")
# Escapes sed turns into characters in an ``e`` command's text.
_CONTROL = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@dataclass
class SedScript:
    """What a sed script does beyond editing its stream."""

    writes: list[str] = field(default_factory=list)
    """The files ``w``, ``W`` and ``s///w`` write, as sed names them."""
    reads: list[str] = field(default_factory=list)
    """The files ``r`` and ``R`` read."""
    commands: list[str] = field(default_factory=list)
    """The shell text of each ``e COMMAND``."""
    runs: bool = False
    """Whether an ``e`` command or ``s///e`` runs a shell command."""
    runs_input: bool = False
    """Whether ``e`` with no command or ``s///e`` runs text made from the input."""
    problem: str | None = None
    """Why the script could not be read to its end, if it could not."""


class _UnreadableError(Exception):
    """The script is not one the reader can follow."""


def read_script(chunks: Sequence[str], *, whole: bool) -> SedScript:
    """Read the scripts of a sed command (its ``-e`` texts, in order).

    `whole`: `chunks` are all of the script, so every ``{`` must be closed.
    """
    script = SedScript()
    reader = _Reader(script, whole=whole)
    try:
        for chunk in chunks:
            reader.program(chunk)
        reader.finish()
    except _UnreadableError as error:
        script.problem = str(error)
    return script


def _blank(char: str) -> bool:
    # Broader than sed's blanks: skipping more only finds more.
    return char != "\n" and char.isspace()


class _Reader:
    """One pass over the chunks of a script, as sed's compiler makes it."""

    def __init__(self, script: SedScript, *, whole: bool) -> None:
        self.script = script
        self.whole = whole
        self.depth = 0
        self.pending: str | None = None
        """The command (a, i, c or e) whose text goes on into the next chunk."""
        self.text = ""
        self.at = 0

    def finish(self) -> None:
        if self.whole and self.depth > 0:
            raise _UnreadableError("a '{' has no '}'")

    def program(self, text: str) -> None:
        self.text, self.at = text, 0
        if self.pending is not None:
            self._text(self.pending, continued=True)
        while True:
            char = self._take()
            while char.isspace() or char == ";":
                char = self._take()
            if not char:
                return
            self._command(self._addresses(char))

    # -- characters ------------------------------------------------------------

    def _take(self) -> str:
        """The next character, or "" at the end (where the reader stays)."""
        if self.at >= len(self.text):
            return ""
        self.at += 1
        return self.text[self.at - 1]

    def _back(self, char: str) -> None:
        if char:
            self.at -= 1

    def _nonblank(self) -> str:
        char = self._take()
        while _blank(char):
            char = self._take()
        return char

    def _digits(self) -> None:
        char = self._take()
        while "0" <= char <= "9":
            char = self._take()
        self._back(char)

    # -- addresses -------------------------------------------------------------

    def _addresses(self, char: str) -> str:
        """Read the addresses and ``!`` before a command; return the command."""
        if self._address(char):
            char = self._nonblank()
            if char == ",":
                if not self._address(self._nonblank()):
                    raise _UnreadableError("a ',' has no second address")
                char = self._nonblank()
        while char == "!":
            char = self._nonblank()
        return char

    def _address(self, char: str) -> bool:
        if char in ("/", "\\"):
            self._delimited(self._take() if char == "\\" else "/", regex=True)
            char = self._nonblank()
            while char and char in "IM":
                char = self._nonblank()
            self._back(char)
        elif "0" <= char <= "9":
            self._digits()
            char = self._nonblank()
            if char == "~":
                self._back(self._nonblank())
                self._digits()
            else:
                self._back(char)
        elif char in ("+", "~"):
            self._back(self._nonblank())
            self._digits()
        elif char != "$":
            return False
        return True

    # -- commands --------------------------------------------------------------

    def _command(self, char: str) -> None:
        if not char:
            raise _UnreadableError("an address is followed by no command")
        if char == "{":
            self.depth += 1
        elif char == "}":
            self._close()
        elif char == "#":
            while char not in ("", "\n"):
                char = self._take()
        elif char in "aic":
            self._text(char, continued=False)
        elif char == "e":
            self._execute()
        elif char in "rRwW":
            files = self.script.reads if char in "rR" else self.script.writes
            files.append(self._filename())
        elif char == "s":
            self._substitute()
        elif char == "y":
            self._transliterate()
        else:
            self._short(char)

    def _short(self, char: str) -> None:
        """A command with no argument, a number, or a label."""
        if char in _PLAIN:
            self._end()
        elif char in _COUNTED:
            char = self._nonblank()
            self._back(char)
            if "0" <= char <= "9":
                self._digits()
            self._end()
        elif char in _LABELLED:
            char = self._nonblank()
            while char and char not in _LABEL_ENDS and not _blank(char):
                char = self._take()
            self._back(char)
        else:
            raise _UnreadableError(f"unknown command {char!r}")

    def _close(self) -> None:
        self.depth -= 1
        if self.whole and self.depth < 0:
            raise _UnreadableError("a '}' closes no '{'")
        self._end()

    def _end(self) -> None:
        """What may follow a command: a blank, ``;``, a newline, ``}`` or ``#``."""
        char = self._nonblank()
        if char in ("}", "#"):
            self._back(char)
        elif char not in ("", "\n", ";"):
            raise _UnreadableError(f"{char!r} follows a command")

    def _filename(self) -> str:
        """A file name: from the first non-blank to the end of the line."""
        char = self._nonblank()
        name = []
        while char not in ("", "\n"):
            name.append(char)
            char = self._take()
        if not name:
            raise _UnreadableError("a w, W, r or R names no file")
        return "".join(name)

    def _execute(self) -> None:
        self.script.runs = True
        char = self._nonblank()
        if char in ("", "\n"):
            self.script.runs_input = True
            return
        self._back(char)
        self.script.commands.append("")
        self._text("e", continued=False)

    def _text(self, command: str, *, continued: bool) -> None:
        """The text of a, i, c or e: to the end of the line, ``\\`` escaping the
        next character (a newline too); a chunk ending in ``\\`` goes on into the
        next one."""
        self.pending = None
        kept: list[str] = []
        char = self._take()
        if not continued:
            while _blank(char):
                char = self._take()
            if not char and command != "e":
                raise _UnreadableError(f"{command} has no text")
            if char == "\\":
                # The character after the backslash starts the text as it is.
                char = self._take()
                if not char:
                    self.pending = command
                    return
                if char != "\n":
                    kept.append(char)
                char = self._take()
        while char not in ("", "\n"):
            if char == "\\":
                char = self._take()
                if not char:
                    kept.append("\n")
                    self.pending = command
                    break
                kept.append(self._escaped(char) if command == "e" else char)
            else:
                kept.append(char)
            char = self._take()
        if command == "e":
            self.script.commands[-1] += "".join(kept)

    def _escaped(self, char: str) -> str:
        """The character sed puts for ``\\`` and `char` in an ``e`` command."""
        if char in "doxc":
            raise _UnreadableError(f"an e command's text holds the escape \\{char}")
        return _CONTROL.get(char, char)

    def _substitute(self) -> None:
        delimiter = self._take()
        self._delimited(delimiter, regex=True)
        self._delimited(delimiter, regex=False)
        while True:
            char = self._nonblank()
            if char in _S_FLAGS:
                continue
            if "0" <= char <= "9":
                self._digits()
            elif char == "e":
                self.script.runs = self.script.runs_input = True
            elif char == "w":
                self.script.writes.append(self._filename())
                return
            elif char in ("}", "#"):
                self._back(char)
                return
            elif char in ("", "\n", ";"):
                return
            else:
                raise _UnreadableError(f"unknown flag {char!r} of an s command")

    def _transliterate(self) -> None:
        delimiter = self._take()
        self._delimited(delimiter, regex=False)
        self._delimited(delimiter, regex=False)
        self._end()

    def _delimited(self, delimiter: str, *, regex: bool) -> None:
        """Skip a regex or replacement up to `delimiter`, which ``\\`` escapes."""
        if delimiter in ("", "\n"):
            raise _UnreadableError("an s or y command has no delimiter")
        char = self._take()
        while char != delimiter:
            if char in ("", "\n"):
                raise _UnreadableError(
                    f"an address, s or y has no closing {delimiter!r}"
                )
            if char == "\\":
                char = self._take()
                if (
                    regex
                    and char == "c"
                    and self._peek() in (delimiter, "\\", "[", "\n")
                ):
                    # Newer seds read \cX as one unit, older ones do not.
                    raise _UnreadableError("sed versions read \\c here differently")
                if not char:
                    continue
            elif char == "[" and regex:
                char = self._bracket()
                if char != "]":
                    raise _UnreadableError("a bracket expression has no ']'")
            char = self._take()

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _bracket(self) -> str:
        """Skip a bracket expression, whose ``]`` ends it only outside ``[:x:]``,
        ``[.x.]`` and ``[=x=]``; return the character that ended it."""
        char = self._take()
        if char == "^":
            char = self._take()
        if char == "]":
            char = self._take()
        state, opener = 0, ""
        while char not in ("", "\n"):
            if char in ".:=" and state == 1:
                state, opener = 2, char
            elif char in ".:=" and state == 2 and char == opener:
                state = 3
            elif char == "[":
                state = 1 if state == 0 else state
            elif char == "]" and state in (0, 1):
                return char
            else:
                if char == "]" and state == 3:
                    state = 0
                state &= ~1
            char = self._take()
        return char
