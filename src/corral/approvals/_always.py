"""An "always" answer: rules appended to the user's policy file.

Each part that needed approval becomes a rule that allows exactly its program,
its arguments and its category, so the same command with another argument
(``--force``, a second package) is decided afresh.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from corral.approvals._model import Category, Part
from corral.errors import ApprovalError

__all__ = ["always_rules", "append_rules", "can_always"]

# Categories whose reason lies outside the part's words: an assignment
# (exec-override), a redirection or a path argument's target (the writes, the
# secrets), a wrapper's effect (privilege), a weaker boundary, or what the
# parser could not model.  A rule naming only the words would allow more than
# the person saw, so these are approved once or for the session.
NEVER_ALWAYS = frozenset(
    {
        Category.ESCALATION,
        Category.UNMODELLED,
        Category.EXEC_OVERRIDE,
        Category.OUTSIDE_WRITE,
        Category.PROTECTED_WRITE,
        Category.SECRET,
        Category.PRIVILEGE,
    }
)

# Characters that fnmatch reads as a pattern; escaped so a rule written for an
# approved argument matches that argument and no other.
_PATTERN_CHARACTERS = "*?["


def always_rules(parts: Sequence[Part], *, approver: str) -> str:
    """Return the TOML text of rules that allow `parts` from now on.

    Raises ApprovalError for a part no rule may allow (a weaker boundary, or
    something the parser could not model) or whose words are not all known.
    """
    day = time.strftime("%Y-%m-%d")
    blocks = []
    for part in parts:
        finding = part.finding
        if finding.category in NEVER_ALWAYS:
            raise ApprovalError(
                f"'{finding.category}' cannot be approved always: what makes it "
                f"{finding.category} is not in its words alone; approve this "
                "command once or for the session instead"
            )
        if finding.scripts:
            raise ApprovalError(
                f"what {finding.argv[0].text} does here is decided by "
                f"{', '.join(finding.scripts)}, which a rule cannot follow as they "
                "change; approve this command once or for the session instead"
            )
        if not finding.argv or not all(word.is_literal for word in finding.argv):
            raise ApprovalError(
                "a part of this command has words known only when it runs "
                f"({' '.join(w.text for w in finding.argv)}); a rule cannot name "
                "it exactly; approve it once or for the session instead"
            )
        program, *args = (word.text for word in finding.argv)
        if any(c in program for c in _PATTERN_CHARACTERS) or program.endswith("/"):
            raise ApprovalError(
                f"the program name {program!r} cannot be named by a rule; approve "
                "it once or for the session instead"
            )
        if "/" in program and not program.startswith("/"):
            raise ApprovalError(
                f"{program} is named relative to the directory it runs in; a rule "
                "cannot name it exactly; approve it once or for the session instead"
            )
        shown = " ".join(word.text for word in finding.argv)
        blocks.append(
            "\n".join(
                [
                    f"# approved always by {approver} on {day}: {_comment(shown)}",
                    "[[rules]]",
                    f"program = {_string(program)}",
                    f"args = [{', '.join(_string(_literal(arg)) for arg in args)}]",
                    "exact = true",
                    f"category = {_string(str(finding.category))}",
                    'decision = "allow"',
                    f"reason = {_string(f'approved always by {approver} on {day}')}",
                ]
            )
        )
    text = "\n\n".join(blocks) + "\n"
    tomllib.loads(text)  # a fault here is corral's own: never write a broken file
    return text


def can_always(parts: Sequence[Part]) -> bool:
    """Whether `always_rules` can name every one of `parts` exactly."""
    try:
        always_rules(parts, approver="nobody")
    except ApprovalError:
        return False
    return True


def append_rules(policy_path: Path, text: str) -> None:
    """Append `text` to the policy file at `policy_path`, creating it if needed.

    The file is replaced whole (write, then rename), so a reader never sees
    half a rule.  Raises ApprovalError when it cannot be written.
    """
    try:
        policy_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            existing = policy_path.read_bytes()
        except FileNotFoundError:
            existing = b""
        if existing and not existing.endswith(b"\n"):
            existing += b"\n"
        separator = b"\n" if existing else b""
        _check_combined(policy_path, existing + separator + text.encode(), text)
        temporary = policy_path.with_name(f".{policy_path.name}.{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temporary, flags, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(existing + separator + text.encode())
        temporary.replace(policy_path)
    except OSError as exc:
        raise ApprovalError(
            f"cannot add the rule to {policy_path}: {exc.strerror}; add it by hand:\n"
            f"{text}"
        ) from exc


def _check_combined(policy_path: Path, combined: bytes, text: str) -> None:
    """Refuse to write a policy file that would no longer parse.

    A file whose rules are an inline array (``rules = [...]``) cannot take a
    ``[[rules]]`` table after it; the person adds the rule there by hand.
    """
    try:
        tomllib.loads(combined.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ApprovalError(
            f"adding the rule would leave {policy_path} invalid ({exc}); its rules "
            "may be an inline array: write them as [[rules]] tables, or add this "
            f"rule to it by hand:\n{text}"
        ) from exc


def _literal(argument: str) -> str:
    """Escape `argument` so fnmatch matches it and nothing else."""
    return "".join(f"[{c}]" if c in _PATTERN_CHARACTERS else c for c in argument)


def _string(value: str) -> str:
    """Return `value` as a TOML basic string.

    Raises ApprovalError for text that is not valid Unicode (an argument
    that is not UTF-8), which no policy file can hold.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApprovalError(
            "an argument of this command is not UTF-8 text; a rule cannot name it; "
            "approve it once or for the session instead"
        ) from exc
    # JSON's string escapes are TOML's, once non-ASCII text is kept as it is;
    # TOML also wants DEL escaped, which JSON leaves alone.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(text: str) -> str:
    """Keep a comment on its line whatever the command contained."""
    return "".join(c if c.isprintable() else "?" for c in text)[:200]
