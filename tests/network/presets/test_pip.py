"""The pip preset follows pip's own files and variables, never the workspace's.

Files are read in pip's order, later ones and PIP_* variables winning; a file
in a writable root is skipped and noted, and no URL's user information shows.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest

from tests.network.presets.preset_support import Machine


def user_pip_conf(machine: Machine, text: str) -> Path:
    return machine.write(machine.home / ".config" / "pip" / "pip.conf", text)


def test_pip_allows_index_extra_indexes_and_find_links_hosts(machine: Machine) -> None:
    conf = user_pip_conf(
        machine,
        "[global]\n"
        "index-url = https://index.test/simple\n"
        "extra-index-url = https://extra-one.test:8443/a\n"
        "    http://Extra-Two.TEST./b\n"
        "find-links = https://links.test/wheels /local/wheels file:///more\n"
        "trusted-host = trusted.test\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == (
        "index.test:443",
        "extra-one.test:8443",
        "extra-two.test:80",
        "links.test:443",
    )
    assert preset.sources == (str(conf),)


def test_pip_install_section_and_environment_override_global(
    machine: Machine,
) -> None:
    user_pip_conf(
        machine,
        "[global]\nindex-url = https://global-index.test/\n"
        "[install]\nindex_url = https://install-index.test/\n",
    )
    assert machine.read("pip").patterns == ("install-index.test:443",)

    machine.environ["PIP_INDEX_URL"] = "https://env-index.test:8080/"
    machine.environ["PIP_EXTRA_INDEX_URL"] = "https://env-extra.test/ http://[::1]:81/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:8080", "env-extra.test:443", "[::1]:81")
    assert preset.sources == ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def test_pip_reads_later_files_over_earlier_ones(machine: Machine) -> None:
    machine.write(
        Path(machine.environ["XDG_CONFIG_DIRS"], "pip", "pip.conf"),
        "[global]\nindex-url = https://site-index.test/\n"
        "extra-index-url = https://site-extra.test/\n",
    )
    user_pip_conf(machine, "[global]\nindex-url = https://user-index.test/\n")
    assert machine.read("pip").patterns == (
        "user-index.test:443",
        "site-extra.test:443",
    )


def test_pip_config_file_replaces_the_user_files(machine: Machine) -> None:
    user_pip_conf(machine, "[global]\nindex-url = https://user-index.test/\n")
    chosen = machine.write(
        machine.home / "chosen.conf", "[global]\nindex-url = https://chosen.test/\n"
    )
    machine.environ["PIP_CONFIG_FILE"] = str(chosen)
    assert machine.read("pip").patterns == ("chosen.test:443",)


def test_pip_config_file_devnull_reads_no_file(machine: Machine) -> None:
    user_pip_conf(machine, "[global]\nextra-index-url = https://user-extra.test/\n")
    machine.environ["PIP_CONFIG_FILE"] = os.devnull
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(os.devnull in note for note in preset.notes)


def test_pip_files_in_the_workspace_are_skipped_and_noted(machine: Machine) -> None:
    venv = machine.workspace / ".venv"
    machine.write(venv / "pip.conf", "[global]\nindex-url = https://venv.test/\n")
    chosen = machine.write(
        machine.workspace / "pip.conf",
        "[global]\nextra-index-url = https://project.test/\n",
    )
    machine.environ["VIRTUAL_ENV"] = str(venv)
    machine.environ["PIP_CONFIG_FILE"] = str(chosen)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert sum("writable root" in note for note in preset.notes) == 2


def test_pip_file_in_another_writable_root_is_skipped(
    machine: Machine, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    conf = machine.write(
        scratch / "pip" / "pip.conf", "[global]\nindex-url = https://scratch.test/\n"
    )
    machine.environ["XDG_CONFIG_HOME"] = str(scratch)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip", scratch)
    assert "scratch.test:443" not in preset.patterns
    assert any(str(conf) in note for note in preset.notes)


def test_pip_file_linked_into_the_workspace_is_skipped(machine: Machine) -> None:
    target = machine.write(
        machine.workspace / "pip.conf", "[global]\nindex-url = https://linked.test/\n"
    )
    link = machine.home / ".config" / "pip" / "pip.conf"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(str(link) in note for note in preset.notes)


def test_pip_never_shows_a_urls_user_information(machine: Machine) -> None:
    conf = user_pip_conf(
        machine,
        "[global]\nindex-url = https://alice:s3cret@index.test/simple\n"
        "extra-index-url = https://bob:hunter2@bad_host-.test/ "
        "https://carol:pa55@[zz]/ ftp://dave:pw0rd@ftp.test/\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == ("index.test:443",)
    assert preset.sources == (str(conf),)
    shown = " ".join(preset.patterns + preset.sources + preset.notes)
    assert len(preset.notes) == 5  # three left out, two not passed on
    assert preset.environment == {}
    for secret in ("s3cret", "hunter2", "pa55", "pw0rd", "alice", "bob", "carol"):
        assert secret not in shown


def test_pip_leaves_out_hosts_that_are_not_plain_names(machine: Machine) -> None:
    user_pip_conf(
        machine,
        "[global]\nindex-url = https://index.test/\n"
        "extra-index-url = https://*.wild.test/ https://host%25eth0.test/\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == ("index.test:443",)
    assert len(preset.notes) == 2


def test_pip_file_that_pip_cannot_parse_is_noted(machine: Machine) -> None:
    conf = user_pip_conf(machine, "[global]\nindex-url = a\nindex-url = b\n")
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(str(conf) in note for note in preset.notes)


def machine_sets_an_index() -> bool:
    for file in (Path("/etc/pip.conf"),):
        parser = configparser.RawConfigParser()
        parser.read(file)
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                return True
    return False


@pytest.mark.skipif(machine_sets_an_index(), reason="/etc/pip.conf sets an index")
def test_pip_without_an_index_asks_pip_for_its_built_in_default(
    machine: Machine,
) -> None:
    preset = machine.read("pip")
    assert preset.patterns
    assert all(pattern.endswith(":443") for pattern in preset.patterns)
    assert preset.sources == ("pip's built-in default",)
    assert preset.notes == ()


def test_pip_inside_the_sandbox_is_given_what_the_preset_allows(
    machine: Machine,
) -> None:
    """The user's pip.conf is hidden there; the variables carry its index."""
    user_pip_conf(
        machine,
        "[global]\nindex-url = https://index.test/simple\n"
        "extra-index-url = https://extra.test/simple\nfind-links = /opt/wheels\n",
    )
    preset = machine.read("pip")
    assert preset.environment == {
        "PIP_INDEX_URL": "https://index.test/simple",
        "PIP_EXTRA_INDEX_URL": "https://extra.test/simple",
        "PIP_FIND_LINKS": "/opt/wheels",
    }
