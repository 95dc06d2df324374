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

__all__ = [
    "Assignment",
    "Category",
    "Decision",
    "Finding",
    "Invocation",
    "Part",
    "Redirect",
    "Script",
    "Verdict",
    "Word",
    "WordKind",
    "strictest",
]
