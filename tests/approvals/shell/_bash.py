"""Running real bash on text the tests built, to compare the parser with it.

Only text whose every expansion is inert (quoted, escaped, or a plain word)
is given to bash, in an empty directory, with a small fixed environment.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BASH = shutil.which("bash")
HOME = "/home/u"
"""What ``~`` is, both for bash and for the parser."""

needs_bash = pytest.mark.skipif(
    BASH is None, reason="bash is not installed; the parser is checked against it"
)


def bash_stdout(script: str, cwd: Path) -> str:
    """Return what bash prints running `script` in `cwd`, bytes past UTF-8 escaped."""
    assert BASH is not None
    ran = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", script],
        cwd=cwd,
        env={"HOME": HOME, "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        capture_output=True,
        check=False,
        timeout=30,
    )
    return ran.stdout.decode("utf-8", "surrogateescape")


def bash_words(words: str, cwd: Path) -> list[str]:
    """Return the words bash passes to a command written ``printf ... WORDS``."""
    out = bash_stdout("printf '%s\\0' - " + words, cwd)
    return out.split("\0")[1:-1]  # "-": printf with no words still prints once
