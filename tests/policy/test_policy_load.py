"""Loading the policy files of a workspace: where they are, what each layer sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.errors import PolicyError
from corral.policy import (
    NetworkMode,
    Policy,
    SandboxMode,
    UnknownDestinations,
    load_policy,
    project_policy_path,
    user_policy_path,
)
from corral.policy._defaults import (
    DEFAULT_ENV_PASS,
    DEFAULT_HIDDEN_PATHS,
    DEFAULT_PROTECTED_PATHS,
    DEFAULT_SECRET_PATTERNS,
)

ALL_KEYS = {
    "sandbox.mode",
    "sandbox.writable_roots",
    "sandbox.protected_paths",
    "sandbox.hidden_paths",
    "sandbox.accept_missing",
    "sandbox.timeout",
    "network.mode",
    "network.allow",
    "network.deny",
    "network.presets",
    "network.refuse_private",
    "network.unknown",
    "network.hosts",
    "env.pass",
    "env.secret_patterns",
    "env.set",
    "audit.redact",
    "audit.rotate_bytes",
    "audit.export.endpoint",
    "audit.export.timeout",
}


class Files:
    """A workspace, a config home and a (missing) requirements path under tmp."""

    def __init__(self, root: Path) -> None:
        self.workspace = root / "ws"
        self.workspace.mkdir()
        self.config = root / "config"
        self.requirements = root / "etc" / "requirements.toml"
        self.environ = {"XDG_CONFIG_HOME": str(self.config), "HOME": str(root)}

    @property
    def user_file(self) -> Path:
        return self.config / "corral" / "policy.toml"

    @property
    def project_file(self) -> Path:
        return self.workspace / ".corral" / "policy.toml"

    def write_user(self, text: str) -> Path:
        return _write(self.user_file, text)

    def write_project(self, text: str) -> Path:
        return _write(self.project_file, text)

    def load(self, **kwargs: object) -> Policy:
        return load_policy(
            self.workspace,
            requirements_path=self.requirements,
            environ=self.environ,
            **kwargs,  # type: ignore[arg-type]
        )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def test_no_files_give_the_built_in_defaults(files: Files) -> None:
    policy = files.load()

    assert policy.sandbox_mode is SandboxMode.WORKSPACE_WRITE
    assert policy.network_mode is NetworkMode.OFFLINE
    assert policy.protected_paths == DEFAULT_PROTECTED_PATHS
    assert policy.hidden_paths == DEFAULT_HIDDEN_PATHS
    assert policy.env_pass == DEFAULT_ENV_PASS
    assert policy.env_secret_patterns == DEFAULT_SECRET_PATTERNS
    assert policy.timeout is None
    assert policy.writable_roots == ()
    assert policy.accept_missing == frozenset()
    assert policy.env_set == {}
    assert policy.sources == ()
    assert policy.origins == dict.fromkeys(ALL_KEYS, "built-in")


def test_empty_files_set_nothing_but_are_listed_as_sources(files: Files) -> None:
    user = files.write_user("")
    project = files.write_project("")

    policy = files.load()

    assert policy.sources == (str(user), str(project))
    assert policy.origins == dict.fromkeys(ALL_KEYS, "built-in")


def test_user_policy_sets_every_key_with_its_origin(files: Files) -> None:
    user = str(
        files.write_user(
            """
            [sandbox]
            mode = "full-access"
            writable_roots = ["~/.cache", "/var/tmp/build"]
            protected_paths = ["deploy/"]
            hidden_paths = ["~/.secrets"]
            accept_missing = ["seccomp"]
            timeout = 90
            [network]
            mode = "allow-list"
            allow = ["example.test"]
            deny = ["bad.example.test"]
            presets = ["pip"]
            refuse_private = true
            unknown = "refuse"
            hosts = { "pkg.test" = "127.0.0.1" }
            [env]
            pass = ["MY_*"]
            secret_patterns = ["*SIGNING*"]
            set = { FOO = "1" }
            [audit]
            redact = ["acme-[0-9]+"]
            rotate_bytes = 1048576
            [audit.export]
            endpoint = "http://127.0.0.1:4318"
            timeout = 5
            """
        )
    )

    policy = files.load()

    assert policy.sandbox_mode is SandboxMode.FULL_ACCESS
    assert policy.writable_roots == ("~/.cache", "/var/tmp/build")
    assert policy.protected_paths == (*DEFAULT_PROTECTED_PATHS, "deploy/")
    assert policy.hidden_paths == (*DEFAULT_HIDDEN_PATHS, "~/.secrets")
    assert policy.accept_missing == {"seccomp"}
    assert policy.timeout == 90.0
    assert policy.network_mode is NetworkMode.ALLOW_LIST
    assert policy.network_allow == ("example.test",)
    assert policy.network_deny == ("bad.example.test",)
    assert policy.network_presets == ("pip",)
    assert policy.network_refuse_private is True
    assert policy.network_unknown is UnknownDestinations.REFUSE
    assert policy.network_hosts == {"pkg.test": "127.0.0.1"}
    assert policy.env_pass == (*DEFAULT_ENV_PASS, "MY_*")
    assert policy.env_secret_patterns == (*DEFAULT_SECRET_PATTERNS, "*SIGNING*")
    assert policy.env_set == {"FOO": "1"}
    assert policy.audit_redact == ("acme-[0-9]+",)
    assert policy.audit_rotate_bytes == 1 << 20
    assert policy.audit_endpoint == "http://127.0.0.1:4318"
    assert policy.audit_export_timeout == 5.0
    added = f"built-in, {user}"
    assert policy.origins == {
        "sandbox.mode": user,
        "sandbox.writable_roots": user,
        "sandbox.protected_paths": added,
        "sandbox.hidden_paths": added,
        "sandbox.accept_missing": user,
        "sandbox.timeout": user,
        "network.mode": user,
        "network.allow": user,
        "network.deny": user,
        "network.presets": user,
        "network.refuse_private": user,
        "network.unknown": user,
        "network.hosts": user,
        "env.pass": added,
        "env.secret_patterns": added,
        "env.set": user,
        "audit.redact": user,
        "audit.rotate_bytes": user,
        "audit.export.endpoint": user,
        "audit.export.timeout": user,
    }


def test_project_policy_tightens_with_its_origin(files: Files) -> None:
    user = str(
        files.write_user(
            '[network]\nmode = "online"\nallow = ["a.test", "b.test"]\n'
            '[env]\nset = { FOO = "1" }\n'
        )
    )
    project = str(
        files.write_project(
            """
            [sandbox]
            mode = "read-only"
            protected_paths = ["migrations/"]
            hidden_paths = ["/srv/data"]
            timeout = 30
            [network]
            mode = "allow-list"
            allow = ["a.test"]
            [env]
            secret_patterns = ["*DSN*"]
            set = { BAR = "2" }
            """
        )
    )

    policy = files.load()

    assert policy.sandbox_mode is SandboxMode.READ_ONLY
    assert policy.network_mode is NetworkMode.ALLOW_LIST
    assert policy.network_allow == ("a.test",)
    assert policy.timeout == 30.0
    assert policy.protected_paths[-1] == "migrations/"
    assert policy.hidden_paths[-1] == "/srv/data"
    assert policy.env_secret_patterns[-1] == "*DSN*"
    assert policy.env_set == {"FOO": "1", "BAR": "2"}
    assert policy.origins["sandbox.mode"] == project
    assert policy.origins["network.mode"] == project
    assert policy.origins["network.allow"] == project
    assert policy.origins["sandbox.timeout"] == project
    assert policy.origins["sandbox.protected_paths"] == f"built-in, {project}"
    assert policy.origins["env.set"] == f"{user}, {project}"
    assert policy.sources == (user, project)


def test_command_line_overrides_apply_last_with_their_origin(files: Files) -> None:
    files.write_user("[sandbox]\ntimeout = 10\n")
    files.write_project('[sandbox]\nmode = "read-only"\n[network]\nmode = "offline"\n')

    policy = files.load(
        overrides={
            "sandbox.mode": "full-access",
            "network.mode": "online",
            "sandbox.timeout": 600,
        }
    )

    assert policy.sandbox_mode is SandboxMode.FULL_ACCESS
    assert policy.network_mode is NetworkMode.ONLINE
    assert policy.timeout == 600.0
    for key in ("sandbox.mode", "network.mode", "sandbox.timeout"):
        assert policy.origins[key] == "command line"


def test_unknown_command_line_override_is_refused(files: Files) -> None:
    with pytest.raises(PolicyError, match=r"cannot override 'sandbox\.writable_roots'"):
        files.load(overrides={"sandbox.writable_roots": ["/"]})


def test_policy_option_replaces_the_user_file(files: Files, tmp_path: Path) -> None:
    files.write_user('[sandbox]\nmode = "full-access"\n')
    chosen = _write(tmp_path / "chosen.toml", '[sandbox]\nmode = "read-only"\n')

    policy = files.load(user_policy=chosen)

    assert policy.sandbox_mode is SandboxMode.READ_ONLY
    assert policy.sources == (str(chosen),)


def test_missing_policy_option_file_is_an_error(files: Files, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(PolicyError, match=rf"{missing}: .*does not exist"):
        files.load(user_policy=missing)


def test_unreadable_policy_file_is_an_error(files: Files) -> None:
    files.user_file.mkdir(parents=True)

    with pytest.raises(PolicyError, match=rf"{files.user_file}: cannot read"):
        files.load()


def test_fifo_in_the_project_is_refused_without_hanging(files: Files) -> None:
    files.project_file.parent.mkdir()
    os.mkfifo(files.project_file)

    with pytest.raises(PolicyError, match="not a regular file"):
        files.load()


def test_user_policy_path_follows_xdg_config_home() -> None:
    assert user_policy_path({"XDG_CONFIG_HOME": "/cfg", "HOME": "/h"}) == Path(
        "/cfg/corral/policy.toml"
    )


def test_user_policy_path_defaults_to_home_config_and_ignores_relative_xdg() -> None:
    expected = Path("/h/.config/corral/policy.toml")
    assert user_policy_path({"HOME": "/h"}) == expected
    assert user_policy_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == expected


def test_project_policy_path_is_inside_the_workspace() -> None:
    assert project_policy_path(Path("/ws")) == Path("/ws/.corral/policy.toml")
