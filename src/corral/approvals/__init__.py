"""Approvals: classify every part of a shell command and decide allow, prompt or forbid.

The command is parsed as bash will parse it (`_parse`), every part is given a
category (`_classify`), the policy's rules give each part a decision
(`_decide`), and the strictest part decides.  Approvals a person gave are kept
in corral's state directory (`_store`).
"""

from __future__ import annotations

from corral.approvals._model import (
    Assignment,
    Category,
    Decision,
    Finding,
    Invocation,
    Part,
    Redirect,
    Script,
    Verdict,
    Word,
    WordKind,
    strictest,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from corral.approvals._classify import classify_argv, classify_text
    from corral.approvals._context import Context, make_context
    from corral.approvals._decide import DEFAULT_DECISIONS, decide
    from corral.approvals._gate import Assessment, assess
    from corral.approvals.shell._parse import parse


# Loaded on first use: the policy package imports this package's vocabulary,
# and these modules import the policy package.
_LAZY = {
    "Assessment": "corral.approvals._gate",
    "assess": "corral.approvals._gate",
    "classify_argv": "corral.approvals._classify",
    "classify_text": "corral.approvals._classify",
    "Context": "corral.approvals._context",
    "make_context": "corral.approvals._context",
    "DEFAULT_DECISIONS": "corral.approvals._decide",
    "decide": "corral.approvals._decide",
    "parse": "corral.approvals.shell._parse",
}

__all__ = [
    "DEFAULT_DECISIONS",
    "Assessment",
    "Assignment",
    "Category",
    "Context",
    "Decision",
    "Finding",
    "Invocation",
    "Part",
    "Redirect",
    "Script",
    "Verdict",
    "Word",
    "WordKind",
    "assess",
    "classify_argv",
    "classify_text",
    "decide",
    "make_context",
    "parse",
    "strictest",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)
