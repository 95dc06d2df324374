"""corral reads a git config file exactly as git does, and refuses what git refuses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from corral.errors import WorkspaceError
from corral.sandbox._gitconfig import read_config

_AS_GIT_READS_THEM = [
    b"[core]\n\thooksPath = .husky\n",
    b'[core] hooksPath = "a b" ; comment\n[include]\npath=x\n',
    b'[includeIf "gitdir:/A/b/"]\n  path = ~/x\\\n y  # comment\n',
    b'[Core]\nHooksPath\n[a.B]\nk = v \\" "q  x" \n',
    b"\xef\xbb\xbf[core]\r\nhookspath = z\r\n",
    b"[core]\nhookspath = end\\",
    b'[core]\nhookspath = "a\\tb"\n[x "Sub\\"S"]\nk = 1',
]


def _as_git_reads(file: Path) -> list[tuple[str, str | None]]:
    listed = subprocess.run(
        ["git", "config", "--file", str(file), "--null", "--list"],
        capture_output=True,
        check=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(file.parent)},
    ).stdout
    pairs: list[tuple[str, str | None]] = []
    for item in listed.split(b"\0")[:-1]:
        key, newline, value = item.partition(b"\n")
        pairs.append((key.decode(), value.decode() if newline else None))
    return pairs


@pytest.mark.parametrize("text", _AS_GIT_READS_THEM)
def test_keys_and_values_are_read_as_git_reads_them(
    tmp_path: Path, text: bytes
) -> None:
    file = tmp_path / "config"
    file.write_bytes(text)
    assert read_config(file) == _as_git_reads(file)


@pytest.mark.parametrize(
    "text", [b"[core\nx = 1\n", b"[core]\nx = \\q\n", b'[core]\nx = "open\n']
)
def test_a_file_git_refuses_is_refused(tmp_path: Path, text: bytes) -> None:
    file = tmp_path / "config"
    file.write_bytes(text)
    with pytest.raises(WorkspaceError, match="git would refuse it too"):
        read_config(file)
