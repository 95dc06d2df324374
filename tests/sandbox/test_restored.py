"""Which host files are bound back through a private directory, and where."""

from __future__ import annotations

from pathlib import Path

from corral.sandbox._restored import find_restored


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for /run holding a resolver file, and one for /etc."""
    private = tmp_path / "run"
    (private / "resolve").mkdir(parents=True)
    (private / "resolve" / "stub-resolv.conf").write_text("nameserver 127.0.0.53\n")
    etc = tmp_path / "etc"
    etc.mkdir()
    return private, etc


def test_a_link_into_a_private_directory_gets_its_file_bound_back(
    tmp_path: Path,
) -> None:
    private, etc = _tree(tmp_path)
    link = etc / "resolv.conf"
    link.symlink_to("../run/resolve/stub-resolv.conf")
    target = private / "resolve" / "stub-resolv.conf"
    assert find_restored([link], [private]) == ((target, target),)


def test_a_chain_is_cut_at_its_first_step_inside_the_private_directory(
    tmp_path: Path,
) -> None:
    """/run/resolvconf/resolv.conf -> elsewhere: bound where the chain enters /run."""
    private, etc = _tree(tmp_path)
    elsewhere = tmp_path / "srv" / "resolv.conf"
    elsewhere.parent.mkdir()
    elsewhere.write_text("nameserver 10.0.0.1\n")
    step = private / "resolvconf" / "resolv.conf"
    step.parent.mkdir()
    step.symlink_to(elsewhere)
    link = etc / "resolv.conf"
    link.symlink_to(step)
    assert find_restored([link], [private]) == ((elsewhere, step),)


def test_a_linked_directory_on_the_way_is_resolved(tmp_path: Path) -> None:
    """/etc/resolv.conf -> /var/run/... with /var/run a link to /run."""
    private, etc = _tree(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "run").symlink_to(private)
    link = etc / "resolv.conf"
    link.symlink_to(tmp_path / "var" / "run" / "resolve" / "stub-resolv.conf")
    target = private / "resolve" / "stub-resolv.conf"
    assert find_restored([link], [private]) == ((target, target),)


def test_plain_dangling_and_outside_links_are_left_alone(tmp_path: Path) -> None:
    private, etc = _tree(tmp_path)
    plain = etc / "plain.conf"
    plain.write_text("nameserver 10.0.0.2\n")
    dangling = etc / "dangling.conf"
    dangling.symlink_to("../run/resolve/absent")
    outside = etc / "outside.conf"
    outside.symlink_to(plain)
    to_dir = etc / "to-dir"
    to_dir.symlink_to(private / "resolve")
    missing = etc / "missing.conf"
    links = [plain, dangling, outside, to_dir, missing]
    assert find_restored(links, [private]) == ()


def test_a_link_loop_is_left_alone(tmp_path: Path) -> None:
    private, etc = _tree(tmp_path)
    (etc / "a").symlink_to("b")
    (etc / "b").symlink_to("a")
    assert find_restored([etc / "a"], [private]) == ()
