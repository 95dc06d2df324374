"""Placeholders of each kind: created whole, held while in use, removed after.

The lease is driven directly against real files; the runs that rely on it are
in tests/integration/test_placeholders.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from corral._linux import birth_time_ns
from corral.errors import WorkspaceError
from corral.sandbox._placeholders import DOT, Placeholder, lease_placeholders


def test_a_dot_file_holds_its_dot_from_the_moment_it_appears(tmp_path: Path) -> None:
    """git on the host may read a commondir at any instant; it dies on an empty one."""
    target = tmp_path / "repo" / "commondir"
    target.parent.mkdir()
    seen: list[bytes] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.append(target.read_bytes())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(50):
            with lease_placeholders(tmp_path / "state") as lease:
                lease.hold([], [(target, Placeholder.DOT_FILE)])
                assert target.read_bytes() == DOT
    finally:
        stop.set()
        watcher.join()
    assert set(seen) <= {DOT}
    assert not target.exists()


def test_a_dot_file_someone_changed_is_left_in_place(tmp_path: Path) -> None:
    target = tmp_path / "commondir"
    with lease_placeholders(tmp_path / "state") as lease:
        lease.hold([], [(target, Placeholder.DOT_FILE)])
        lease.release()
        target.write_bytes(b"../..")
    assert target.read_bytes() == b"../.."


def test_a_dot_file_another_run_holds_outlives_its_makers_run(
    tmp_path: Path,
) -> None:
    target = tmp_path / "commondir"
    with lease_placeholders(tmp_path / "state-b") as other:
        with lease_placeholders(tmp_path / "state-a") as maker:
            maker.hold([], [(target, Placeholder.DOT_FILE)])
            other.hold([target], [])
        assert target.read_bytes() == DOT
    with lease_placeholders(tmp_path / "state-a"):
        pass
    assert not target.exists()


def test_a_vanished_path_is_stood_in_for_by_the_kind_asked_for(
    tmp_path: Path,
) -> None:
    target = tmp_path / "commondir"
    with lease_placeholders(tmp_path / "state") as lease:
        protected = lease.hold([target], [], {target: Placeholder.DOT_FILE})
        assert protected == (target,)
        assert target.read_bytes() == DOT
    assert not target.exists()


def test_a_placeholder_directory_someone_filled_is_left_in_place(
    tmp_path: Path,
) -> None:
    target = tmp_path / ".vscode"
    with lease_placeholders(tmp_path / "state") as lease:
        lease.hold([], [(target, Placeholder.DIRECTORY)])
        lease.release()
        (target / "tasks.json").write_text("{}\n")
    assert (target / "tasks.json").read_text() == "{}\n"
    with lease_placeholders(tmp_path / "state"):
        pass  # the journal forgot it: a later run leaves it too
    assert (target / "tasks.json").exists()


def test_each_kind_of_placeholder_is_removed_once_no_run_holds_it(
    tmp_path: Path,
) -> None:
    kinds = {
        tmp_path / ".vscode": Placeholder.DIRECTORY,
        tmp_path / ".envrc": Placeholder.FILE,
        tmp_path / "commondir": Placeholder.DOT_FILE,
    }
    with lease_placeholders(tmp_path / "state") as lease:
        assert set(lease.hold([], kinds.items())) == set(kinds)
        assert all(path.exists() for path in kinds)
    assert not any(path.exists() for path in kinds)


def _keeps_birth_times(directory: Path) -> bool:
    fd = os.open(directory, os.O_RDONLY)
    try:
        return birth_time_ns(fd) is not None
    finally:
        os.close(fd)


def test_an_empty_file_given_a_placeholders_old_inode_number_is_left_in_place(
    tmp_path: Path,
) -> None:
    """File systems hand freed inode numbers out again: the person's own empty
    .envrc, made after corral's was removed, may get its number."""
    if not _keeps_birth_times(tmp_path):
        pytest.skip("the file system keeps no birth times: inodes are told apart less")
    target = tmp_path / ".envrc"
    state = tmp_path / "state"
    with lease_placeholders(state) as lease:
        lease.hold([], [(target, Placeholder.FILE)])
        lease.release()
        [journal_file] = state.rglob("journal.json")
        journal = json.loads(journal_file.read_text())
        target.unlink()
        time.sleep(0.05)  # past the file system's clock tick
        target.write_bytes(b"")
        info = target.stat()
        journal[str(target)][:2] = [info.st_dev, info.st_ino]
        journal_file.write_text(json.dumps(journal))
    assert target.exists()


def test_a_journal_entry_of_another_shape_is_an_error_naming_the_journal(
    tmp_path: Path,
) -> None:
    target = tmp_path / ".envrc"
    state = tmp_path / "state"
    with lease_placeholders(state) as lease:
        lease.hold([], [(target, Placeholder.FILE)])
        [journal_file] = state.rglob("journal.json")
    journal_file.write_text(json.dumps({str(target): [1, 2]}))
    with (
        pytest.raises(WorkspaceError, match=r"journal .* is unreadable"),
        lease_placeholders(state),
    ):
        pass


def test_a_placeholder_whose_mode_the_host_changed_is_still_removed(
    tmp_path: Path,
) -> None:
    """A chmod -R on the host, a backup tool: metadata moves, the file is corral's."""
    kinds = {
        tmp_path / ".envrc": Placeholder.FILE,
        tmp_path / ".vscode": Placeholder.DIRECTORY,
    }
    with lease_placeholders(tmp_path / "state") as lease:
        lease.hold([], kinds.items())
        for path in kinds:
            path.chmod(0o700)
    assert not any(path.exists() for path in kinds)
