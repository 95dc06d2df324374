"""Classify commands in a real workspace and fake home, for the classifier's tests.

Each test names the command and what it must find; `Classifier` builds the
context from the built-in policy, as ``corral check`` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from corral.approvals import Category, Finding
from corral.approvals._classify import classify_argv, classify_text
from corral.approvals._context import Context, make_context
from corral.policy import Policy, load_policy
from tests.conftest import Home


@dataclass
class Classifier:
    """Classify shell text or argv against one workspace, home and policy."""

    workspace: Path
    home: Home
    environ: Mapping[str, str] = field(default_factory=dict)

    def policy(self) -> Policy:
        return load_policy(self.workspace, environ=self.env())

    def env(self) -> dict[str, str]:
        return self.home.env(dict(self.environ))

    def context(self, cwd: Path | None = None) -> Context:
        return make_context(
            self.policy(), self.workspace, cwd or self.workspace, self.env()
        )

    def text(self, line: str, *, cwd: Path | None = None) -> tuple[Finding, ...]:
        return classify_text(line, self.context(cwd))

    def argv(self, argv: Sequence[str]) -> tuple[Finding, ...]:
        return classify_argv(argv, self.context())


def categories(findings: Sequence[Finding]) -> set[Category]:
    """The categories among `findings`."""
    return {finding.category for finding in findings}


def shown(findings: Sequence[Finding]) -> str:
    """Findings as a person reads them, for assertion messages."""
    return "\n".join(
        f"{f.category}: {f.reason} {[w.text for w in f.argv]}" for f in findings
    )


def case(line: str, *has: Category, without: Sequence[Category] = (), why: str) -> Any:
    """One table row: `line` must find each of `has` and none of `without`; `why` is the
    behaviour, as the test id."""
    return pytest.param(line, frozenset(has), frozenset(without), id=why)


def only(line: str, *exactly: Category, why: str) -> Any:
    """One table row: `line` must find exactly the categories `exactly`."""
    others = frozenset(Category) - frozenset(exactly)
    return pytest.param(line, frozenset(exactly), others, id=why)


def check(
    findings: Sequence[Finding], has: frozenset[Category], without: frozenset[Category]
) -> None:
    """Assert the table row's expectation, showing every finding when it fails."""
    found = categories(findings)
    assert has <= found, shown(findings)
    assert not without & found, shown(findings)
