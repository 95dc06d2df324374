"""The schema of policy files: every mistake names the file, the key and the fix."""

from __future__ import annotations

import pytest

from corral.errors import PolicyError
from corral.policy._schema import LayerKind, parse_layer

ORIGIN = "/home/u/.config/corral/policy.toml"


def parse(text: str, kind: LayerKind = LayerKind.USER) -> object:
    return parse_layer(text.encode(), ORIGIN, kind)


def test_unknown_table_names_file_table_and_known_tables() -> None:
    with pytest.raises(PolicyError) as caught:
        parse("[sandbx]\nmode = 'read-only'\n")

    message = str(caught.value)
    assert message.startswith(f"{ORIGIN}: unknown table [sandbx]")
    assert "[sandbox], [network], [env]" in message


def test_unknown_key_names_file_dotted_key_and_known_keys() -> None:
    with pytest.raises(PolicyError) as caught:
        parse("[network]\nallowed = ['a.test']\n")

    message = str(caught.value)
    assert message.startswith(f"{ORIGIN}: unknown key network.allowed")
    assert "mode, allow" in message


def test_managed_only_keys_are_unknown_to_a_user_policy() -> None:
    with pytest.raises(PolicyError, match=r"unknown key sandbox\.allowed_modes"):
        parse("[sandbox]\nallowed_modes = ['read-only']\n")


def test_user_only_keys_are_unknown_to_managed_requirements() -> None:
    with pytest.raises(PolicyError, match=r"unknown key sandbox\.writable_roots"):
        parse("[sandbox]\nwritable_roots = ['/x']\n", LayerKind.MANAGED)


def test_a_table_written_as_a_value_is_a_type_error() -> None:
    with pytest.raises(PolicyError, match=r"sandbox must be a table"):
        parse("sandbox = 'read-only'\n")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sandbox]\nmode = 1\n", "sandbox.mode"),
        ("[sandbox]\nmode = 'writable'\n", "sandbox.mode"),
        ("[sandbox]\nprotected_paths = '.git/'\n", "sandbox.protected_paths"),
        ("[sandbox]\nhidden_paths = [1]\n", "sandbox.hidden_paths"),
        ("[sandbox]\ntimeout = '10'\n", "sandbox.timeout"),
        ("[sandbox]\ntimeout = true\n", "sandbox.timeout"),
        ("[sandbox]\ntimeout = 0\n", "sandbox.timeout"),
        ("[sandbox]\ntimeout = -5\n", "sandbox.timeout"),
        ("[sandbox]\ntimeout = inf\n", "sandbox.timeout"),
        ("[sandbox]\naccept_missing = ['everything']\n", "sandbox.accept_missing"),
        ("[network]\nmode = 'some'\n", "network.mode"),
        ("[network]\nallow = ['']\n", "network.allow"),
        ("[env]\npass = ['A=B']\n", "env.pass"),
        ("[env]\nset = ['A']\n", "env.set"),
        ("[env]\nset = { '1A' = 'x' }\n", "env.set"),
        ("[env]\nset = { A = 1 }\n", "env.set.A"),
    ],
)
def test_wrong_types_and_values_name_file_and_key(text: str, key: str) -> None:
    with pytest.raises(PolicyError, match=rf"^{ORIGIN}: {key} "):
        parse(text)


def test_mode_error_lists_the_allowed_modes() -> None:
    with pytest.raises(PolicyError, match="'read-only', 'workspace-write', 'full-acc"):
        parse("[sandbox]\nmode = 'writable'\n")


@pytest.mark.parametrize(
    "entry", ["/etc/passwd", "~/x", "../up", "a/../b", "a//b", "./a", "", "."]
)
def test_protected_paths_must_be_clean_and_workspace_relative(entry: str) -> None:
    with pytest.raises(PolicyError, match=r"sandbox\.protected_paths entry"):
        parse(f"[sandbox]\nprotected_paths = [{entry!r}]\n")


def test_protected_paths_accept_files_and_directories() -> None:
    layer = parse("[sandbox]\nprotected_paths = ['deploy/', 'a/b.cfg']\n")

    assert layer.protected_paths == ("deploy/", "a/b.cfg")  # type: ignore[attr-defined]


@pytest.mark.parametrize("entry", ["relative", "~user/x", "/a/../b"])
def test_writable_roots_must_be_absolute_or_home(entry: str) -> None:
    with pytest.raises(PolicyError, match=r"sandbox\.writable_roots entry"):
        parse(f"[sandbox]\nwritable_roots = [{entry!r}]\n")


def test_toml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(PolicyError, match=rf"^{ORIGIN}: not valid TOML: .*line 3"):
        parse("[sandbox]\nmode = 'read-only'\ntimeout = \n")


def test_toml_syntax_error_keeps_the_cause() -> None:
    with pytest.raises(PolicyError) as caught:
        parse("[sandbox\n")

    assert caught.value.__cause__ is not None


def test_non_utf8_file_is_an_error() -> None:
    with pytest.raises(PolicyError, match="not UTF-8"):
        parse_layer(b"[sandbox]\nmode = '\xff'\n", ORIGIN, LayerKind.USER)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sandbox]\nwritable_roots = ['/tmp/x']\n", "sandbox.writable_roots"),
        ("[sandbox]\naccept_missing = ['seccomp']\n", "sandbox.accept_missing"),
        ("[env]\npass = ['AWS_*']\n", "env.pass"),
    ],
)
def test_project_cannot_set_user_only_keys_and_says_why(text: str, key: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(text, LayerKind.PROJECT)

    message = str(caught.value)
    assert f"{key} cannot be set by a project policy: it would" in message
    assert "set it in your user policy instead" in message


def test_managed_allowed_modes_must_not_be_empty() -> None:
    with pytest.raises(PolicyError, match=r"allowed_modes = \[\] would allow nothing"):
        parse("[sandbox]\nallowed_modes = []\n", LayerKind.MANAGED)
