"""The audit settings in force: the managed and the user policy's, cached per file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.audit._settings import AuditSettings, audit_settings
from corral.errors import PolicyError

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="needs root to create a root-owned requirements file"
)


class Homes:
    """A user's config home and a requirements path (absent until written)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.user = root / "config" / "corral" / "policy.toml"
        self.requirements = root / "etc-corral" / "requirements.toml"
        self.environ = {"XDG_CONFIG_HOME": str(root / "config"), "HOME": str(root)}

    def write_user(self, text: str) -> Path:
        self.user.parent.mkdir(parents=True, exist_ok=True)
        self.user.write_text(text)
        return self.user

    def write_requirements(self, text: str) -> Path:
        """Write the requirements as an administrator would (as root only)."""
        self.requirements.parent.mkdir(mode=0o755, exist_ok=True)
        self.requirements.parent.chmod(0o755)
        self.requirements.write_text(text)
        self.requirements.chmod(0o644)
        return self.requirements

    def settings(self) -> AuditSettings:
        return audit_settings(self.environ, requirements_path=self.requirements)


@pytest.fixture
def homes(tmp_path: Path) -> Homes:
    return Homes(tmp_path)


def test_missing_files_give_the_built_in_settings(homes: Homes) -> None:
    assert homes.settings() == AuditSettings(
        endpoint=None, redact=(), rotate_bytes=32 << 20, export_timeout=10.0
    )


def test_the_user_policy_sets_the_audit_settings(homes: Homes) -> None:
    homes.write_user(
        '[audit]\nredact = ["acme-[0-9]+"]\nrotate_bytes = 65536\n'
        '[audit.export]\nendpoint = "HTTP://127.0.0.1:4318/"\ntimeout = 2.5\n'
    )

    assert homes.settings() == AuditSettings(
        endpoint="http://127.0.0.1:4318",
        redact=("acme-[0-9]+",),
        rotate_bytes=65536,
        export_timeout=2.5,
    )


def test_the_user_policy_is_the_one_the_environment_names(homes: Homes) -> None:
    homes.write_user('[audit.export]\nendpoint = "http://127.0.0.1:4318"\n')
    elsewhere = {"XDG_CONFIG_HOME": str(homes.root / "other"), "HOME": "/nonexistent"}

    other = audit_settings(elsewhere, requirements_path=homes.requirements)

    assert homes.settings().endpoint == "http://127.0.0.1:4318"
    assert other.endpoint is None


def test_a_project_policy_is_never_read(
    homes: Homes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "ws" / ".corral" / "policy.toml"
    project.parent.mkdir(parents=True)
    project.write_text('[audit.export]\nendpoint = "http://127.0.0.1:9"\n')
    monkeypatch.chdir(project.parent.parent)

    assert homes.settings().endpoint is None


def test_unchanged_files_are_read_once(homes: Homes) -> None:
    homes.write_user("[audit]\nrotate_bytes = 65536\n")

    first = homes.settings()

    assert homes.settings() is first


def test_a_changed_user_policy_is_read_again(homes: Homes) -> None:
    path = homes.write_user("[audit]\nrotate_bytes = 65536\n")
    stat = path.stat()
    homes.settings()

    # Same size and modification time: only the change time tells.
    path.write_text("[audit]\nrotate_bytes = 65537\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert homes.settings().rotate_bytes == 65537


def test_a_user_policy_that_appears_or_goes_is_noticed(homes: Homes) -> None:
    assert homes.settings().endpoint is None

    path = homes.write_user('[audit.export]\nendpoint = "http://127.0.0.1:4318"\n')
    assert homes.settings().endpoint == "http://127.0.0.1:4318"

    path.unlink()
    assert homes.settings().endpoint is None


def test_an_invalid_user_policy_raises_every_time(homes: Homes) -> None:
    homes.write_user('[audit]\nredact = ["("]\n')

    for _ in range(2):
        with pytest.raises(PolicyError, match=r"audit\.redact entry '\(' is not a"):
            homes.settings()


def test_an_invalid_policy_outside_audit_is_an_error_too(homes: Homes) -> None:
    homes.write_user("[sandbox]\nmode = 'wide-open'\n")

    with pytest.raises(PolicyError, match=r"sandbox\.mode = 'wide-open'"):
        homes.settings()


def test_requirements_not_owned_by_an_administrator_are_refused(
    homes: Homes,
) -> None:
    homes.requirements.parent.mkdir()
    homes.requirements.write_text('[audit.export]\nendpoint = "http://127.0.0.1:9"\n')
    homes.requirements.chmod(0o666)

    with pytest.raises(PolicyError, match="refused as managed requirements"):
        homes.settings()


@needs_root
def test_managed_requirements_set_the_audit_settings(homes: Homes) -> None:
    homes.write_requirements(
        '[audit]\nredact = ["corp-[0-9]+"]\n'
        '[audit.export]\nendpoint = "https://collector.corp.test"\n'
    )
    homes.write_user("[audit.export]\ntimeout = 30\n")

    assert homes.settings() == AuditSettings(
        endpoint="https://collector.corp.test",
        redact=("corp-[0-9]+",),
        rotate_bytes=32 << 20,
        export_timeout=30.0,
    )


@needs_root
def test_user_policy_changing_a_managed_setting_is_refused(homes: Homes) -> None:
    homes.write_requirements(
        '[audit.export]\nendpoint = "https://collector.corp.test"\n'
    )
    user = homes.write_user('[audit.export]\nendpoint = "http://127.0.0.1:9"\n')

    with pytest.raises(PolicyError) as raised:
        homes.settings()

    assert str(raised.value).startswith(f"{user}: audit.export.endpoint = ")
    assert str(homes.requirements) in str(raised.value)


@needs_root
def test_requirements_made_writable_by_others_are_refused_at_once(
    homes: Homes,
) -> None:
    homes.write_requirements(
        '[audit.export]\nendpoint = "https://collector.corp.test"\n'
    )
    assert homes.settings().endpoint == "https://collector.corp.test"

    homes.requirements.parent.chmod(0o777)

    with pytest.raises(PolicyError, match="writable by group or others"):
        homes.settings()
