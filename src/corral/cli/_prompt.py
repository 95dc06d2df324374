"""Asking the person at the terminal whether a command may run.

The question goes to the controlling terminal, not to stdin or stdout, which
belong to the command.  Input typed before the question is discarded, so text
an agent wrote ahead into the terminal cannot answer it.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from corral.approvals import Part
from corral.approvals._model import Scope

__all__ = [
    "ask",
    "ask_destination",
    "confirm",
    "describe_parts",
    "person_present",
    "printable",
]

# A question nobody answers is a no: a run must not hang forever waiting for
# a person who is not there.
ANSWER_TIMEOUT_SECONDS = 300
# An answer is a word; a longer line is not one.
_MAX_ANSWER = 64
_TRUE = {"1", "true", "yes", "on"}

_ANSWERS = {
    "o": Scope.ONCE,
    "once": Scope.ONCE,
    "y": Scope.ONCE,
    "yes": Scope.ONCE,
    "s": Scope.SESSION,
    "session": Scope.SESSION,
    "a": Scope.ALWAYS,
    "always": Scope.ALWAYS,
}


def person_present(*, no_input: bool, environ: Mapping[str, str]) -> bool:
    """Whether a person can be asked: a terminal, and nobody said not to ask.

    ``--no-input`` and ``CORRAL_NO_INPUT=1`` (set by a harness) mean no.
    """
    if no_input or environ.get("CORRAL_NO_INPUT", "").lower() in _TRUE:
        return False
    try:
        if not os.isatty(0):
            return False
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def describe_parts(parts: Sequence[Part]) -> list[str]:
    """Lines that show a person each part and why it needs a decision."""
    lines = []
    for part in parts:
        shown = " ".join(word.text for word in part.finding.argv) or "(redirection)"
        lines.append(
            f"  {part.decision:<7} {part.finding.category:<16} {printable(shown)}"
        )
        lines.append(f"          {printable(part.reason)} ({printable(part.rule)})")
    return lines


def ask(command: str, parts: Sequence[Part], *, always: bool) -> Scope | None:
    """Ask on the terminal whether `command` may run; return the scope, or None.

    `always` offers the answer that writes a rule.  No answer within
    `ANSWER_TIMEOUT_SECONDS`, end of input or any other answer means no.
    """
    choices = (
        "[o]nce, [s]ession, [a]lways, [N]o" if always else "[o]nce, [s]ession, [N]o"
    )
    text = "\n".join(
        [
            f"corral: this command needs your approval: {printable(command)}",
            *describe_parts(parts),
            f"corral: run it? {choices}: ",
        ]
    )
    with _question(text) as answer:
        scope = _ANSWERS.get(answer)
        if scope is Scope.ALWAYS and not always:
            scope = None
        answer.reply("corral: approved" if scope else "corral: not run")
    return scope


_ONE_QUESTION_AT_A_TIME = threading.Lock()


def ask_destination(destination: str) -> Literal["once", "session", "no"]:
    """Ask whether the running command may connect to `destination` (host:port).

    Called by the proxy's questions while the command runs, possibly for
    several connections at once: they are asked one after another.
    """
    text = (
        f"corral: the command wants to connect to {printable(destination)}, which "
        "no allow-list entry names\ncorral: allow it? [o]nce, [s]ession, [N]o: "
    )
    with _ONE_QUESTION_AT_A_TIME, _question(text) as answer:
        scope = _ANSWERS.get(answer)
        verdict: Literal["once", "session", "no"] = (
            "session"
            if scope is Scope.SESSION
            else "once"
            if scope is Scope.ONCE
            else "no"
        )
        answer.reply("corral: allowed" if verdict != "no" else "corral: refused")
    return verdict


def confirm(question: str) -> bool:
    """Ask `question` on the terminal; True only for an explicit yes."""
    with _question(question) as answer:
        yes = answer in {"y", "yes"}
        answer.reply("corral: approved" if yes else "corral: not approved")
    return yes


class _Answer(str):
    """The person's answer, lower-cased, with a way to acknowledge it."""

    __slots__ = ("fd",)
    fd: int

    def reply(self, text: str) -> None:
        os.write(self.fd, f"{text}\n".encode())


@contextlib.contextmanager
def _question(text: str) -> Iterator[_Answer]:
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        # Discard what was typed before the question: it was not an answer to it.
        with contextlib.suppress(termios.error):
            termios.tcflush(fd, termios.TCIFLUSH)
        os.write(fd, text.encode(errors="replace"))
        answer = _Answer(_read_line(fd).strip().lower())
        # Discard the rest of a line too long to be an answer: left there, it
        # would go to whatever reads the terminal next, the person's shell too.
        with contextlib.suppress(termios.error):
            termios.tcflush(fd, termios.TCIFLUSH)
        answer.fd = fd
        yield answer
    finally:
        os.close(fd)


def _read_line(fd: int) -> str:
    data = b""
    while len(data) <= _MAX_ANSWER:
        ready, _, _ = select.select([fd], [], [], ANSWER_TIMEOUT_SECONDS)
        if not ready:
            return ""
        chunk = os.read(fd, 1)
        if not chunk or chunk in {b"\n", b"\r"}:
            break
        data += chunk
    if len(data) > _MAX_ANSWER:
        return ""
    return data.decode(errors="replace")


def printable(text: str) -> str:
    """Spell out control characters: no text from a command may steer the terminal."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
