"""Hidden paths hold however the home directory is named, and refusals say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral._home import passwd_home
from tests.conftest import Home
from tests.support import CorralCLI, sh

# These tests check what the kernel holds once a command is let through.
pytestmark = pytest.mark.boundary_only


def test_home_reached_through_a_link_still_hides_and_explains(
    corral: CorralCLI, workspace: Path, home: Home, tmp_path: Path
) -> None:
    link = tmp_path / "home-link"
    link.symlink_to(home.path)
    ran = corral.run(workspace, *sh("cat ~/.ssh/id_ed25519"), env={"HOME": str(link)})
    assert ran.returncode == 1, ran.stderr
    assert "PRIVATE KEY" not in ran.stdout
    assert "is hidden from sandboxed commands" in ran.stderr
    assert "outside the writable roots" not in ran.stderr


def test_a_credential_store_that_is_a_link_is_explained_as_hidden(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    (home.path / ".ssh").rename(home.path / "keys")
    (home.path / ".ssh").symlink_to("keys")
    ran = corral.run(workspace, *sh("cat ~/.ssh/id_ed25519; cd ~ && cat .ssh/x"))
    assert "PRIVATE KEY" not in ran.stdout
    refusals = [line for line in ran.stderr.splitlines() if "sandbox refused" in line]
    assert refusals, ran.stderr
    assert all("hidden" in line for line in refusals), refusals


def test_credentials_under_the_passwd_home_stay_hidden_when_home_is_changed(
    corral: CorralCLI, workspace: Path, home: Home, tmp_path: Path
) -> None:
    real_home = passwd_home()
    store = (tmp_path / "store").resolve()
    if real_home is None or not store.is_relative_to(real_home.resolve()):
        pytest.skip("the test directory is not beneath the passwd entry's home")
    store.mkdir()
    (store / "token").write_text("REAL-HOME-SECRET\n")
    relative = store.relative_to(real_home.resolve())
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[sandbox]\nhidden_paths = ["~/{relative}"]\n')
    ran = corral(
        "run", "-C", str(workspace), "--policy", str(policy), "--",
        "cat", str(store / "token"),
    )  # fmt: skip
    assert "REAL-HOME-SECRET" not in ran.stdout
    assert ran.returncode != 0
