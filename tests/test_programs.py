"""Programs corral runs on the host are never ones a sandboxed command wrote."""

from __future__ import annotations

from pathlib import Path

from corral._programs import beneath, find_program, trusted_search_path


def _program(directory: Path, name: str = "tool") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


def test_a_program_beneath_an_avoided_directory_is_passed_over(tmp_path: Path) -> None:
    workspace, system = tmp_path / "ws", tmp_path / "usr-bin"
    _program(workspace / "bin")
    trusted = _program(system)
    path = f"{workspace / 'bin'}:{system}"

    found = find_program("tool", {"PATH": path}, avoid=[workspace])

    assert found.path == str(trusted)
    assert len(found.skipped) == 1
    assert "could have put it" in found.skipped[0]


def test_a_link_into_an_avoided_directory_is_passed_over(tmp_path: Path) -> None:
    workspace, linked = tmp_path / "ws", tmp_path / "linked"
    planted = _program(workspace / "bin")
    linked.mkdir()
    (linked / "tool").symlink_to(planted)

    found = find_program("tool", {"PATH": str(linked)}, avoid=[workspace])

    assert found.path is None
    assert found.skipped


def test_relative_and_empty_path_entries_are_never_searched(tmp_path: Path) -> None:
    found = find_program("sh", {"PATH": ":.:bin"}, avoid=[])
    assert found.path is None
    assert trusted_search_path({"PATH": ":.:bin:/usr/bin"}, []) == ["/usr/bin"]


def test_beneath_names_the_root_a_path_lies_in(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    assert beneath(root / "a", [tmp_path / "other", root]) == root
    assert beneath(tmp_path / "other", [root]) is None
