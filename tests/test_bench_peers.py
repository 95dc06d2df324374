"""The benchmark's peers: nothing fetched unless asked, no cache in the repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from corral.policy._defaults import DEFAULT_HIDDEN_PATHS, DEFAULT_PROTECTED_PATHS

REPOSITORY = Path(__file__).resolve().parent.parent
# bench/ is not a package: its scripts import each other from that directory.
sys.path.append(str(REPOSITORY / "bench"))
import _peers  # noqa: E402


def _stand_ins(directory: Path) -> Path:
    """An npm and an apt-get on PATH that only note that they were run."""
    directory.mkdir()
    for name in ("npm", "apt-get"):
        program = directory / name
        program.write_text(f'#!/bin/sh\ntouch "{directory}/ran-{name}"\nexit 1\n')
        program.chmod(0o755)
    return directory


def test_an_empty_cache_without_install_leaves_every_peer_missing_and_fetches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    tools = _stand_ins(tmp_path / "tools")
    monkeypatch.setenv("CORRAL_BENCH_CACHE", str(cache))
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    workspace = tmp_path / "ws"
    workspace.mkdir()

    peers = _peers.prepare(_peers.PEER_MODES, workspace, install=False)

    assert set(peers) == set(_peers.PEER_MODES)
    for mode, peer in peers.items():
        assert isinstance(peer, _peers.Missing), peer
        assert peer.mode == mode
        assert _peers.INSTALL_ADVICE in peer.reason
        assert "\n" not in peer.reason
    assert not cache.exists()
    assert sorted(p.name for p in tools.iterdir()) == ["apt-get", "npm"]


@pytest.mark.parametrize("through_link", [False, True])
def test_a_cache_inside_the_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, through_link: bool
) -> None:
    inside = REPOSITORY / "bench" / "peer-cache-test"
    if through_link:
        (tmp_path / "link").symlink_to(REPOSITORY / "bench")
        monkeypatch.setenv("CORRAL_BENCH_CACHE", str(tmp_path / "link" / inside.name))
    else:
        monkeypatch.setenv("CORRAL_BENCH_CACHE", str(inside))

    with pytest.raises(_peers.PeerCacheError, match="inside the repository"):
        _peers.cache_dir()
    peers = _peers.prepare(["srt", "codex"], tmp_path, install=True)

    for peer in peers.values():
        assert isinstance(peer, _peers.Missing)
        assert "CORRAL_BENCH_CACHE" in peer.reason
    assert not inside.exists()


def test_the_cache_defaults_to_the_users_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORRAL_BENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    assert _peers.cache_dir() == tmp_path.resolve() / "corral-bench" / "peers"


def test_an_unknown_peer_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown peer modes"):
        _peers.prepare(["bwrap"], tmp_path, install=False)


def test_srt_settings_match_corrals_default_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes only in the workspace, never to a protected path; hidden paths unread;
    no network; and no entry ending in "/", which srt rejects."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    workspace = tmp_path / "ws"
    workspace.mkdir()

    settings = _peers.srt_settings(workspace)

    files = settings["filesystem"]
    assert files["allowWrite"] == [str(workspace.resolve())]
    assert str(workspace.resolve() / ".git") in files["denyWrite"]
    assert str(workspace.resolve() / ".corral") in files["denyWrite"]
    assert len(files["denyWrite"]) == len(DEFAULT_PROTECTED_PATHS)
    assert str(home / ".ssh") in files["denyRead"]
    assert len(files["denyRead"]) == len(DEFAULT_HIDDEN_PATHS)
    assert settings["network"] == {"allowedDomains": [], "deniedDomains": []}
    for entry in files["denyWrite"] + files["denyRead"]:
        assert Path(entry).is_absolute()
        assert not entry.endswith("/")
    assert json.loads(json.dumps(settings)) == settings


def test_a_peer_runs_the_command_after_its_own_arguments() -> None:
    peer = _peers.Peer("srt", "0.0.78", ("srt", "-s", "settings.json", "--"), {})

    argv = peer.argv(["python3", "-c", "pass"])

    assert argv == ["srt", "-s", "settings.json", "--", "python3", "-c", "pass"]
