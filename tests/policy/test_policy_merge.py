"""Merging the layers: managed requirements bound, projects only tighten, lists grow.

The managed layer is parsed directly here, so that these rules are checked as
any user; reading a root-owned requirements file is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.errors import PolicyError
from corral.policy import (
    NetworkMode,
    Policy,
    SandboxMode,
    UnknownDestinations,
    stricter_of,
)
from corral.policy._defaults import DEFAULT_HIDDEN_PATHS, DEFAULT_PROTECTED_PATHS
from corral.policy._merge import merge_layers
from corral.policy._schema import (
    LayerKind,
    PolicyLayer,
    parse_layer,
    parse_overrides,
)

MANAGED = "/etc/corral/requirements.toml"
USER = "/home/u/.config/corral/policy.toml"
PROJECT = "/ws/.corral/policy.toml"
ENVIRON = {"HOME": "/home/u"}


def merge(
    managed: str | None = None,
    user: str | None = None,
    project: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Policy:
    def layer(text: str | None, origin: str, kind: LayerKind) -> PolicyLayer | None:
        return None if text is None else parse_layer(text.encode(), origin, kind)

    return merge_layers(
        layer(managed, MANAGED, LayerKind.MANAGED),
        layer(user, USER, LayerKind.USER),
        layer(project, PROJECT, LayerKind.PROJECT),
        parse_overrides(overrides) if overrides else None,
        environ=ENVIRON,
    )


@pytest.mark.parametrize(
    ("user", "project", "key"),
    [
        (None, "[sandbox]\nmode = 'full-access'\n", "sandbox.mode"),
        (
            "[sandbox]\nmode = 'read-only'\n",
            "[sandbox]\nmode = 'workspace-write'\n",
            "sandbox.mode",
        ),
        (None, "[network]\nmode = 'online'\n", "network.mode"),
        (
            "[network]\nmode = 'allow-list'\nallow = ['a.test']\n",
            "[network]\nmode = 'online'\n",
            "network.mode",
        ),
        ("[sandbox]\ntimeout = 30\n", "[sandbox]\ntimeout = 31\n", "sandbox.timeout"),
    ],
)
def test_project_may_not_loosen(user: str | None, project: str, key: str) -> None:
    with pytest.raises(PolicyError) as caught:
        merge(user=user, project=project)

    message = str(caught.value)
    assert message.startswith(f"{PROJECT}: {key} = ")
    assert "a project policy may only tighten" in message
    assert f"set {key} in your user policy or on the command line" in message


def test_loosening_error_names_where_the_stricter_value_came_from() -> None:
    with pytest.raises(PolicyError, match=rf"'read-only' \(from {USER}\)"):
        merge(
            user="[sandbox]\nmode = 'read-only'\n",
            project="[sandbox]\nmode = 'full-access'\n",
        )


def test_project_repeating_the_current_mode_keeps_its_origin() -> None:
    policy = merge(project="[sandbox]\nmode = 'workspace-write'\n")

    assert policy.origins["sandbox.mode"] == "built-in"


def test_project_sets_a_timeout_where_there_was_none() -> None:
    assert merge(project="[sandbox]\ntimeout = 5\n").timeout == 5.0


def test_project_may_narrow_the_allow_list_to_entries_the_user_lists() -> None:
    policy = merge(
        user="[network]\nmode = 'allow-list'\nallow = ['a.test', 'b.test']\n",
        project="[network]\nallow = ['b.test']\n",
    )

    assert policy.network_allow == ("b.test",)
    assert policy.origins["network.allow"] == PROJECT


def test_project_may_not_add_to_the_allow_list() -> None:
    with pytest.raises(PolicyError, match=r"network\.allow lists 'c\.test'.*narrow"):
        merge(
            user="[network]\nmode = 'allow-list'\nallow = ['a.test']\n",
            project="[network]\nallow = ['a.test', 'c.test']\n",
        )


def test_allow_list_mode_that_can_reach_nothing_is_an_error() -> None:
    with pytest.raises(PolicyError, match=r"nothing could be reached"):
        merge(user="[network]\nmode = 'allow-list'\nunknown = 'refuse'\n")


def test_allow_list_mode_with_nothing_listed_asks_about_everything() -> None:
    policy = merge(user="[network]\nmode = 'allow-list'\n")
    assert policy.network_unknown is UnknownDestinations.ASK


@pytest.mark.parametrize(
    "name",
    [
        *("PATH", "LD_PRELOAD", "PYTHONPATH", "GIT_DIR", "GCONV_PATH", "GETCONF_DIR"),
        *("HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "NLSPATH", "MALLOC_CHECK_"),
        *("GLIBC_TUNABLES", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS"),
        *("LESSOPEN", "LESSCLOSE", "LESS", "PROMPT_COMMAND", "PS4", "SHELLOPTS"),
        *("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "NPM_CONFIG_REGISTRY"),
        *("npm_config_registry", "PIP_INDEX_URL", "CARGO_HOME", "GOFLAGS"),
        *("GOPROXY", "GOTOOLCHAIN", "RUSTC_WRAPPER", "PERLLIB", "OPENSSL_CONF"),
        *("EDITOR", "PAGER", "https_proxy", "CC", "MAKEFLAGS", "BUNDLE_GEMFILE"),
    ],
)
def test_project_may_not_set_variables_that_pick_programs(name: str) -> None:
    with pytest.raises(PolicyError, match=rf"env\.set cannot set {name}"):
        merge(project=f"[env]\nset = {{ {name} = 'x' }}\n")


@pytest.mark.parametrize("name", ["FOO", "APP_DEBUG", "APP_MODE", "GOOGLE_X"])
def test_project_may_set_variables_that_pick_nothing(name: str) -> None:
    assert merge(project=f"[env]\nset = {{ {name} = 'x' }}\n").env_set == {name: "x"}


def test_project_may_not_override_a_variable_the_user_sets() -> None:
    with pytest.raises(PolicyError, match=r"env\.set\.FOO would override"):
        merge(
            user="[env]\nset = { FOO = '1' }\n", project="[env]\nset = { FOO = '2' }\n"
        )


ALLOW_READ_ONLY = "[sandbox]\nallowed_modes = ['read-only', 'workspace-write']\n"


@pytest.mark.parametrize(
    ("user", "project", "overrides", "offender"),
    [
        ("[sandbox]\nmode = 'full-access'\n", None, None, USER),
        (None, "[sandbox]\nmode = 'full-access'\n", None, PROJECT),
        (None, None, {"sandbox.mode": "full-access"}, "command line"),
    ],
)
def test_mode_outside_managed_allowed_modes_is_refused(
    user: str | None,
    project: str | None,
    overrides: dict[str, object] | None,
    offender: str,
) -> None:
    with pytest.raises(PolicyError) as caught:
        merge(ALLOW_READ_ONLY, user, project, overrides)

    message = str(caught.value)
    assert message.startswith(f"{offender}: sandbox.mode = 'full-access' is outside")
    assert f"({MANAGED}: sandbox.allowed_modes = ['read-only', 'workspace-" in message


def test_network_mode_outside_managed_allowed_modes_is_refused() -> None:
    with pytest.raises(PolicyError, match=rf"{USER}: network\.mode = 'online' is out"):
        merge(
            "[network]\nallowed_modes = ['offline']\n", "[network]\nmode = 'online'\n"
        )


def test_managed_modes_are_the_defaults() -> None:
    policy = merge("[sandbox]\nmode = 'read-only'\n[network]\nmode = 'online'\n")

    assert policy.sandbox_mode is SandboxMode.READ_ONLY
    assert policy.network_mode is NetworkMode.ONLINE
    assert policy.origins["sandbox.mode"] == MANAGED


def test_built_in_default_outside_managed_bounds_gives_the_strictest_allowed() -> None:
    policy = merge("[sandbox]\nallowed_modes = ['read-only', 'full-access']\n")

    assert policy.sandbox_mode is SandboxMode.READ_ONLY
    assert policy.origins["sandbox.mode"] == MANAGED


def test_managed_mode_outside_its_own_allowed_modes_is_an_error() -> None:
    with pytest.raises(PolicyError, match=rf"{MANAGED}: sandbox\.mode = 'full-acc"):
        merge("[sandbox]\nmode = 'full-access'\nallowed_modes = ['read-only']\n")


def test_managed_lists_are_added_and_never_removed() -> None:
    policy = merge(
        "[sandbox]\nprotected_paths = ['ops/']\nhidden_paths = ['/srv/keys']\n"
        "[env]\nsecret_patterns = ['*DSN*']\n",
        user="[sandbox]\nprotected_paths = ['docs/']\n",
        project="[sandbox]\nprotected_paths = ['ops/']\n",
    )

    assert policy.protected_paths == (*DEFAULT_PROTECTED_PATHS, "ops/", "docs/")
    assert policy.hidden_paths == (*DEFAULT_HIDDEN_PATHS, "/srv/keys")
    assert "*DSN*" in policy.env_secret_patterns
    assert policy.origins["sandbox.protected_paths"] == (
        f"built-in, {MANAGED}, {USER}, {PROJECT}"
    )
    assert policy.origins["sandbox.hidden_paths"] == f"built-in, {MANAGED}"


def test_accept_missing_outside_managed_allowance_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"'seccomp' may not be accepted as missing"):
        merge(
            "[sandbox]\naccept_missing_allowed = ['landlock']\n",
            "[sandbox]\naccept_missing = ['landlock', 'seccomp']\n",
        )


def test_empty_accept_missing_allowance_forbids_any() -> None:
    with pytest.raises(PolicyError, match=r"accept_missing_allowed = \[nothing\]"):
        merge(
            "[sandbox]\naccept_missing_allowed = []\n",
            "[sandbox]\naccept_missing = ['landlock']\n",
        )


def test_writable_roots_must_lie_within_the_managed_prefixes() -> None:
    managed = "[sandbox]\nwritable_roots_within = ['~/scratch', '/var/tmp']\n"

    policy = merge(managed, "[sandbox]\nwritable_roots = ['~/scratch/a', '/var/tmp']\n")
    assert policy.writable_roots == ("~/scratch/a", "/var/tmp")

    with pytest.raises(PolicyError, match=r"writable_roots = '/home/u/.cache' is out"):
        merge(managed, "[sandbox]\nwritable_roots = ['/home/u/.cache']\n")


def test_allow_list_entry_the_managed_requirements_deny_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"network\.deny lists 'bad\.test'"):
        merge(
            "[network]\ndeny = ['bad.test']\n",
            "[network]\nmode = 'allow-list'\nallow = ['ok.test', 'bad.test']\n",
        )


SANDBOX_MODES = st.sampled_from(list(SandboxMode))
NETWORK_MODES = st.sampled_from(list(NetworkMode))


# No example database: it would be written into the checkout, which an
# unprivileged run of the tests may not be able to write.
@settings(database=None)
@given(
    user_mode=st.none() | SANDBOX_MODES,
    user_net=st.none() | NETWORK_MODES,
    project_mode=st.none() | SANDBOX_MODES,
    project_net=st.none() | NETWORK_MODES,
)
def test_a_project_never_yields_a_looser_mode_and_may_always_tighten(
    user_mode: SandboxMode | None,
    user_net: NetworkMode | None,
    project_mode: SandboxMode | None,
    project_net: NetworkMode | None,
) -> None:
    user = ""
    if user_mode is not None:
        user += f"[sandbox]\nmode = '{user_mode.value}'\n"
    if user_net is not None:
        user += f"[network]\nmode = '{user_net.value}'\nallow = ['a.test']\n"
    project = ""
    if project_mode is not None:
        project += f"[sandbox]\nmode = '{project_mode.value}'\n"
    if project_net is not None:
        project += f"[network]\nmode = '{project_net.value}'\n"
    without = merge(user=user)
    tightens = (
        project_mode is None
        or stricter_of(project_mode, without.sandbox_mode) == project_mode
    ) and (
        project_net is None
        or stricter_of(project_net, without.network_mode) == project_net
    )

    try:
        with_project = merge(user=user, project=project)
    except PolicyError:
        assert not tightens
        return

    assert stricter_of(with_project.sandbox_mode, without.sandbox_mode) == (
        with_project.sandbox_mode
    )
    assert stricter_of(with_project.network_mode, without.network_mode) == (
        with_project.network_mode
    )
    assert set(without.protected_paths) <= set(with_project.protected_paths)
