"""A policy file named on the command line is a request: what it loosens
against the user's own policy needs a person, like --sandbox full-access."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.support import CorralCLI


@pytest.mark.parametrize(
    ("text", "escalation"),
    [
        ('[sandbox]\nmode = "full-access"\n', True),
        ('[network]\nmode = "online"\n', True),
        ('[sandbox]\nmode = "read-only"\n', False),
        ("", False),
    ],
    ids=["full-access", "network-online", "stricter", "empty"],
)
def test_a_named_policy_file_that_loosens_the_boundary_needs_a_person(
    corral: CorralCLI, workspace: Path, home: Home, text: str, escalation: bool
) -> None:
    named = home.path / "named-policy.toml"
    named.write_text(text)

    ran = corral(
        "check", "-C", str(workspace), "--policy", str(named), "--json", "--", "true"
    )

    shown = json.loads(ran.stdout.splitlines()[-1])
    categories = {part["category"] for part in shown["parts"]}
    assert ("escalation" in categories) is escalation
    assert ran.returncode == (3 if escalation else 0), ran.stderr
