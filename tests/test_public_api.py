"""Every public name resolves, whichever package a fresh interpreter imports first:
the policy and approvals packages import each other's vocabulary lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST = ["corral", "corral.policy", "corral.approvals", "corral.sandbox", "corral.cli"]

CHECK = """
import importlib, sys
importlib.import_module(sys.argv[1])
import corral, corral.approvals, corral.sandbox
for package in (corral, corral.approvals, corral.sandbox):
    for name in package.__all__:
        getattr(package, name)
"""


@pytest.mark.parametrize("first", FIRST)
def test_every_public_name_resolves_whatever_is_imported_first(first: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, first],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
