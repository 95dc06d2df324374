"""``corral policy``: the effective policy, its origins, and its errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from corral.cli import main
from corral.errors import ExitCode


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with no policy files, and a home with none either."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_human_output_is_one_aligned_line_per_key(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["policy", "-C", str(workspace)])

    out = capsys.readouterr().out
    assert status == ExitCode.OK
    lines = out.splitlines()
    assert lines[0].split() == ["workspace", str(workspace.resolve())]
    assert "sandbox.mode             workspace-write  (built-in)" in lines
    assert "network.mode             offline  (built-in)" in lines
    assert "sandbox.timeout          none  (built-in)" in lines
    assert "network.refuse_private   false  (built-in)" in lines
    assert "network.unknown          ask  (built-in)" in lines
    width = len("sandbox.protected_paths")
    assert all(line[width : width + 2] == "  " for line in lines)
    assert all(line[width + 2] != " " for line in lines)


def test_subdirectory_uses_the_project_policy_at_the_git_top_level(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write(
        workspace / ".corral" / "policy.toml", "[sandbox]\nmode = 'read-only'\n"
    )

    status = main(["policy", "-C", str(workspace / "sub")])

    assert status == ExitCode.OK
    assert f"sandbox.mode             read-only  ({project})" in capsys.readouterr().out


def test_json_output_has_the_documented_shape(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["policy", "-C", str(workspace), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert status == ExitCode.OK
    assert set(document) == {"policy", "origins", "sources", "digest"}
    assert document["policy"]["sandbox"]["mode"] == "workspace-write"
    assert document["origins"]["network.mode"] == "built-in"
    assert document["digest"].startswith("sha256:")


def test_policy_option_replaces_the_user_policy(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = write(tmp_path / "chosen.toml", "[network]\nmode = 'online'\n")

    status = main(["policy", "-C", str(workspace), "--policy", str(chosen), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert status == ExitCode.OK
    assert document["policy"]["network"]["mode"] == "online"
    assert document["sources"] == [str(chosen)]


def test_command_line_modes_show_as_their_origin(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["policy", "-C", str(workspace), "--sandbox", "full-access"])

    assert status == ExitCode.OK
    assert "full-access  (command line)" in capsys.readouterr().out


def test_bad_policy_is_reported_on_stderr_with_exit_125(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workspace / ".corral" / "policy.toml", "[sandbox]\nmode = 'full-access'\n")

    status = main(["policy", "-C", str(workspace)])

    captured = capsys.readouterr()
    assert status == ExitCode.CORRAL_FAILED
    assert captured.out == ""
    assert captured.err.startswith("corral: ")
    assert "a project policy may only tighten" in captured.err


def test_missing_policy_option_file_exits_125(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["policy", "-C", str(workspace), "--policy", str(tmp_path / "no")])

    assert status == ExitCode.CORRAL_FAILED
    assert "does not exist" in capsys.readouterr().err


def test_missing_directory_exits_125(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["policy", "-C", str(tmp_path / "absent")])

    assert status == ExitCode.CORRAL_FAILED
    assert capsys.readouterr().err.startswith("corral: ")
