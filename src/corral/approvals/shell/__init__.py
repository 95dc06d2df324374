"""The shell parser: bash text into every simple command it can run.

`parse` reads the text with tree-sitter's bash grammar and flattens what it
finds (chains, pipes, groups, substitutions, here-documents) into a `Script`
of `Invocation`s whose words are known, globs, or known only at run time.
The parser is loaded on first use: a command given as an argv runs no shell,
and its classification never needs tree-sitter.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from corral.approvals.shell._parse import MAX_DEPTH, MAX_TEXT_BYTES, parse

__all__ = ["MAX_DEPTH", "MAX_TEXT_BYTES", "SHELL_CODE_MARKS", "parse"]

SHELL_CODE_MARKS = ("$(", "`", "${")
"""A value holding one of these is shell code that arithmetic (``((x))``, a
subscript, a substring's offset), ``${!x}``, ``${x@P}`` and a word taken as a
variable's name (by ``read``, ``printf -v``, ``unset``, ``test -v``,
``declare``) run: ``x='a[$(cmd)]'; ((x))`` and ``unset "$x"`` run cmd."""

_LAZY = {
    "MAX_DEPTH": "corral.approvals.shell._parse",
    "MAX_TEXT_BYTES": "corral.approvals.shell._parse",
    "parse": "corral.approvals.shell._parse",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)
