"""The npm preset follows the user's and the machine's npm files, not the project's.

npm itself reports the registry; an rc file in a writable root, named or
reached through ``prefix``, is pointed away and noted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.network.presets.preset_support import Machine

NPM = shutil.which("npm")
needs_npm = pytest.mark.skipif(NPM is None, reason="npm is not installed here")


@needs_npm
def test_npm_allows_the_users_registry_and_scopes_not_the_projects(
    machine: Machine,
) -> None:
    rc = machine.write(
        machine.home / ".npmrc",
        "registry=https://npm-registry.test:4873/\n"
        "@acme:registry=https://user:tok@acme.test/npm/\n"
        '"@quoted:registry" = "https://${SCOPE_HOST}/"\n'
        "//acme.test/npm/:_authToken=not-a-host\n",
    )
    machine.write(
        machine.workspace / ".npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.environ["SCOPE_HOST"] = "quoted.test"
    preset = machine.read("npm")
    assert preset.patterns == (
        "npm-registry.test:4873",
        "acme.test:443",
        "quoted.test:443",
    )
    assert preset.sources == ("npm config", str(rc))
    assert "tok" not in " ".join(preset.notes)
    # npm inside the sandbox, whose .npmrc is hidden, is given the same ones;
    # a registry with credentials in its URL is not passed on.
    assert preset.environment == {
        "npm_config_registry": "https://npm-registry.test:4873/",
        "npm_config_@quoted:registry": "https://quoted.test/",
    }


@needs_npm
def test_npm_userconfig_in_the_workspace_is_skipped(machine: Machine) -> None:
    rc = machine.write(
        machine.workspace / "npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.write(machine.home / ".npmrc", "registry=https://npm-registry.test/\n")
    machine.environ["NPM_CONFIG_USERCONFIG"] = str(rc)
    preset = machine.read("npm")
    assert not any("test:" in pattern for pattern in preset.patterns)
    assert any("NPM_CONFIG_USERCONFIG" in note for note in preset.notes)


@needs_npm
def test_npm_home_inside_a_writable_root_is_not_read(machine: Machine) -> None:
    machine.write(machine.home / ".npmrc", "registry=https://npm-registry.test/\n")
    preset = machine.read("npm", machine.home)
    assert "npm-registry.test:443" not in preset.patterns
    assert any(str(machine.home / ".npmrc") in note for note in preset.notes)


@needs_npm
def test_npm_global_file_moved_into_the_workspace_is_not_read(
    machine: Machine,
) -> None:
    prefix = machine.workspace / "prefix"
    machine.write(
        prefix / "etc" / "npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.write(machine.home / ".npmrc", f"prefix={prefix}\n")
    preset = machine.read("npm")
    assert not any("test:" in pattern for pattern in preset.patterns)
    assert any(str(prefix / "etc" / "npmrc") in note for note in preset.notes)


def test_npm_absent_is_noted(machine: Machine, tmp_path: Path) -> None:
    machine.environ["PATH"] = str(tmp_path / "empty")
    preset = machine.read("npm")
    assert preset.patterns == ()
    assert preset.notes == (
        "npm is not on PATH outside the writable roots; nothing read",
    )
