"""Mask secrets in event records before they are written: the log outlives the command.

One combined regular expression (each string gets the part it could match)
finds the secrets a command line or an error message usually carries:
passwords in URLs, secret options, headers and assignments, well-known token
shapes, private keys.  A command's words, in an argv or a shell line, are also
read with their program in view (``mysql -pX``, ``sshpass -p X``).  The values
of the environment's secret variables and the policy's own patterns are
masked too.

This module holds the `Redactor` and the policy's own patterns; the rules
are in ``_text`` (text), ``_argv``, ``_programs`` and ``_runners`` (a
command's words), ``_env`` (the environment's secret values) and ``_value``
(which part of one value is the secret).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, overload

from corral.audit.redact._argv import (
    _mask_option_values,
    _mask_program_words,
    _mask_shell_line,
    _may_name_a_program,
)
from corral.audit.redact._env import _secret_values, _values_regex
from corral.audit.redact._text import _combined, _mask_spans, _rules_in, _substitute
from corral.audit.redact._value import MASK

__all__ = ["MASK", "Redactor"]

_K = TypeVar("_K")

# Passes over one string at most: a pass can expose a secret to the next (a
# policy pattern that masks what followed an AWS key id ends the key there),
# and text built to expose one more at every pass must not make this slow.
_MAX_PASSES = 3


class Redactor:
    """Masks secrets in the strings of an event's fields.

    `patterns` are the policy's ``audit.redact`` regular expressions (checked
    when the policy was read): each match is masked, or only its ``secret``
    group when it has one.  `environ` is the environment whose secret
    variables' values are masked wherever they appear.
    """

    def __init__(
        self, patterns: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> None:
        self._patterns = _custom(tuple(patterns))
        self._secrets = _secret_values(environ or {})
        self._values = _values_regex(self._secrets) if self._secrets else None

    @overload
    def redact(self, value: str) -> str: ...
    @overload
    def redact(self, value: dict[_K, Any]) -> dict[_K, object]: ...
    @overload
    def redact(self, value: list[Any]) -> list[object]: ...
    @overload
    def redact(self, value: object) -> object: ...

    def redact(self, value: object) -> object:
        """Return `value` with every string in it masked; dict keys are kept.

        Dicts, lists and tuples are rebuilt; other values are returned as they
        are.  In a list, the word after a secret option (``--token``) is
        masked whole, and so are the short password options of the programs
        `_PROGRAMS` knows (``mysql -pX``), as in a shell line.
        """
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            words = _mask_program_words(_mask_option_values(value))
            items = [self.redact(item) for item in words]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _text(self, text: str) -> str:
        """Mask until nothing more is found: a mask can end what precedes it."""
        for _ in range(_MAX_PASSES):
            masked = self._pass(text)
            if masked is text or masked == text:
                break
            text = masked
        return text

    def _pass(self, text: str) -> str:
        if self._values is not None and any(v in text for v in self._secrets):
            text = self._values.sub(MASK, text)
        if _may_name_a_program(text):
            text = _mask_shell_line(text)
        rules = _rules_in(text)
        if rules:
            text = _substitute(_combined(rules), text)
        for pattern in self._patterns:
            if MASK in text:
                # Masks already in place are left alone, so that a pattern
                # that matches part of one cannot grow it.
                parts = text.split(MASK)
                text = MASK.join(pattern.sub(_replace_custom, p) for p in parts)
            else:
                text = pattern.sub(_replace_custom, text)
        return text


def _replace_custom(match: re.Match[str]) -> str:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        begin, end = match.span("secret")
        if end > begin:
            return _mask_spans(match, [(begin, end)])
        return match.group()
    return MASK if match.end() > match.start() else ""


@functools.lru_cache(maxsize=16)
def _custom(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The policy's patterns: those without groups as one expression, others alone.

    A pattern with groups keeps its own expression, where its group numbers
    and its ``secret`` group mean what they say.
    """
    compiled = [re.compile(pattern) for pattern in patterns]
    plain = [pattern for pattern in compiled if not pattern.groups]
    grouped = tuple(pattern for pattern in compiled if pattern.groups)
    if len(plain) < 2:
        return (*plain, *grouped)
    try:
        joined = re.compile("|".join(f"(?:{p.pattern})" for p in plain))
    except re.error:
        # Inline flags such as (?i) apply to a whole expression only.
        return (*plain, *grouped)
    return (joined, *grouped)
