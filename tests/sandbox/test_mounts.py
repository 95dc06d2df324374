"""The order of the binds over the writable roots, and which are read-only."""

from __future__ import annotations

from pathlib import Path

from corral.sandbox._mounts import View, ordered_binds


def _view(
    protected: tuple[str, ...],
    pinned: tuple[str, ...] = (),
    granted: tuple[str, ...] = (),
) -> View:
    return View(
        protected=tuple(map(Path, protected)),
        hidden=(),
        sockets=(),
        pinned=tuple(map(Path, pinned)),
        granted=tuple(map(Path, granted)),
    )


def test_a_pinned_directory_beneath_a_read_only_one_is_left_out() -> None:
    """It cannot be renamed there anyway, and its bind would make it writable."""
    view = _view(protected=("/w/vendor",), pinned=("/w/vendor/lib", "/w/other"))
    assert ordered_binds(view) == [(Path("/w/other"), True), (Path("/w/vendor"), False)]


def test_only_a_whole_name_holds_a_path() -> None:
    """``/w/.gitx/lib`` is not beneath the read-only ``/w/.git``."""
    view = _view(protected=("/w/.git",), pinned=("/w/.gitx", "/w/.gitx/lib"))
    assert ordered_binds(view) == [
        (Path("/w/.git"), False),
        (Path("/w/.gitx"), True),
        (Path("/w/.gitx/lib"), True),
    ]


def test_shallower_paths_are_bound_first_then_by_name() -> None:
    view = _view(
        protected=("/w/b/c/.git", "/w/a/.git", "/w/z"), pinned=("/w/b/c", "/w/b")
    )
    assert [path for path, _ in ordered_binds(view)] == [
        Path("/w/b"),
        Path("/w/z"),
        Path("/w/a/.git"),
        Path("/w/b/c"),
        Path("/w/b/c/.git"),
    ]
