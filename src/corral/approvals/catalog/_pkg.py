"""Other package managers: Ruby, PHP, .NET, the system's, and runtime managers.

Installing is ``package-install`` (system package managers need root as well,
which the sandbox does not give); querying is a read; runners such as
``bundle exec`` and ``mise exec`` classify the command they run.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.approvals._model import Category
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Sink,
    Table,
    entry,
    name_of,
    names,
    subcommands,
)
from corral.approvals.catalog._installs import BUNDLER_FILES, installs, installs_bare
from corral.approvals.catalog._js import JS_PROGRAMS, project_scripts, runs_inner
from corral.approvals.catalog._py import PYTHON_PACKAGE_PROGRAMS

__all__ = ["PACKAGE_PROGRAMS"]

_INSTALL = Category.PACKAGE_INSTALL
_READ = Category.READ
_EDIT = Category.EDIT
_OUTSIDE = Category.OUTSIDE_WRITE
_NETWORK = Category.NETWORK
_SYSTEM = "installs or removes system packages"
_INFO = "prints package information"

_gem = subcommands(
    [
        (
            _INSTALL,
            "installs or updates gems",
            "install update uninstall fetch pristine cleanup",
        ),
        (
            _READ,
            _INFO,
            "list search info query contents dependency env which help spec outdated",
        ),
        (Category.TEST_BUILD, "builds a gem", "build"),
        (_NETWORK, "changes what a registry publishes", "push yank owner"),
        (Category.SECRET, "handles registry credentials", "signin signout"),
        (_OUTSIDE, "writes gem's settings", "sources"),
    ],
)

_bundle = subcommands(
    [
        (_INSTALL, "writes gems or their programs", "cache package binstubs"),
        (
            _READ,
            "prints bundle information",
            "check list info show outdated config platform version doctor",
        ),
        (Category.EXECUTE, "starts a console with the bundle", "console"),
        (_EDIT, "creates a Gemfile", "init gem"),
    ],
    missing=installs_bare("installs the bundle's gems", BUNDLER_FILES),
    extra={
        "exec": runs_inner(),
        **dict.fromkeys(
            ("install", "update", "add", "remove", "lock"),
            installs("installs or updates gems", BUNDLER_FILES),
        ),
    },
)

_composer = subcommands(
    [
        (
            _INSTALL,
            "installs or changes packages, running their scripts",
            "install i update u upgrade require r remove rm create-project global "
            "reinstall",
        ),
        (
            _READ,
            _INFO,
            "show info outdated validate diagnose licenses depends why prohibits "
            "why-not search config fund audit",
        ),
        (_EDIT, "writes the autoloader", "dump-autoload dumpautoload"),
    ],
    extra={
        "exec": runs_inner(),
        **dict.fromkeys(
            ("run-script", "run", "test"),
            project_scripts("runs a composer.json script"),
        ),
    },
)

_dotnet = subcommands(
    [
        (
            Category.TEST_BUILD,
            "builds or tests the project",
            "build test pack publish msbuild format clean",
        ),
        (Category.EXECUTE, "builds and runs the project", "run watch"),
        (
            _INSTALL,
            "adds or restores packages and tools",
            "add restore tool workload new",
        ),
        (_NETWORK, "uploads a package", "nuget"),
        (_READ, "prints information", "list sln sdk help"),
    ],
)


def _system(installs: str, reads: str) -> Handler:
    return subcommands([(_INSTALL, _SYSTEM, installs), (_READ, _INFO, reads)])


_apt = _system(
    "install upgrade dist-upgrade full-upgrade remove purge autoremove autoclean clean "
    "build-dep source reinstall update satisfy download",
    "list search show showsrc policy depends rdepends changelog madison",
)
_dnf = _system(
    "install in remove erase rm update upgrade up downgrade reinstall autoremove "
    "groupinstall module distro-sync swap makecache",
    "list info search provides repolist repoquery check-update history deplist",
)
_zypper = _system(
    "in install rm remove up update dup dist-upgrade patch refresh ref",
    "se search info if lr repos lp list-patches",
)
_apk = _system("add del upgrade fix update", "info search list policy dot")
_brew = _system(
    "install reinstall upgrade uninstall remove rm tap untap update link unlink "
    "cleanup bundle pin unpin",
    "list ls info search outdated deps uses leaves config doctor home desc",
)
_snap = subcommands(
    [
        (_INSTALL, "installs or removes snaps", "install refresh remove revert"),
        (_READ, _INFO, "list info find version"),
        (Category.EXECUTE, "runs a snap", "run"),
    ],
)
_flatpak = subcommands(
    [
        (_INSTALL, "installs or removes applications", "install update uninstall"),
        (_READ, _INFO, "list info search remotes"),
        (Category.EXECUTE, "runs an application", "run"),
    ],
)
_rustup = subcommands(
    [
        (
            _INSTALL,
            "installs toolchains or components",
            "install update toolchain target component default override self set "
            "uninstall",
        ),
        (
            _READ,
            "prints toolchain information",
            "show which doc help completions check",
        ),
    ],
    extra={"run": runs_inner()},
)
_runtimes = subcommands(
    [
        (
            _INSTALL,
            "installs runtimes or plugins",
            "install uninstall plugin update upgrade self-update fetch enable prepare",
        ),
        (
            _READ,
            "prints runtime information",
            "versions version current list ls ls-remote which where root latest "
            "doctor env",
        ),
        (_EDIT, "pins the runtime of this directory", "local use pin"),
        (
            _OUTSIDE,
            "changes the default runtime in the home directory",
            "global default",
        ),
    ],
    extra={"exec": runs_inner(), "x": runs_inner(), "run": runs_inner()},
)
_installer = subcommands(
    [
        (
            _INSTALL,
            "installs or updates packages",
            "install update upgrade remove uninstall add create init switch pull "
            "restore get deps.get deps.update local.hex archive.install",
        ),
        (_READ, _INFO, "list show info search outdated"),
        (_NETWORK, "uploads a package", "push upload publish"),
    ],
    extra={"exec": runs_inner()},
    fallback=entry(Category.TEST_BUILD, "builds or tests the project"),
)

# pacman, rpm and dpkg say what they do with their first option's letter.
_LONG_LETTERS: Mapping[str, str] = {
    "install": "i",
    "remove": "r",
    "purge": "P",
    "query": "q",
    "list": "l",
    "upgrade": "U",
    "sync": "S",
}


def _by_letter(installs: str) -> Handler:
    """pacman, rpm, dpkg: the first option says whether it installs or queries.

    pacman's ``-S`` with s, i, l or g (and no y) searches rather than installs.
    """

    def handle(sink: Sink, argv: Argv) -> None:
        first = next((w.text for w in argv[1:] if w.text.startswith("-")), "")
        letters = first.lstrip("-")
        if first.startswith("--"):
            letters = _LONG_LETTERS.get(letters, letters[:1])
        searching = letters[:1] == "S" and set(letters[1:]) & set("sigl")
        if letters[:1] and letters[0] in installs and not searching:
            sink.emit(argv, _INSTALL, f"{name_of(argv[0])} {_SYSTEM}")
        else:
            sink.emit(argv, _READ, f"{name_of(argv[0])} {_INFO}")

    return handle


PACKAGE_PROGRAMS: Table = {
    **JS_PROGRAMS,
    **PYTHON_PACKAGE_PROGRAMS,
    "gem": _gem,
    "bundle": _bundle,
    "bundler": _bundle,
    "composer": _composer,
    "dotnet": _dotnet,
    "apt": _apt,
    "apt-get": _apt,
    "aptitude": _apt,
    "apt-cache": entry(_READ, _INFO),
    "dpkg-query": entry(_READ, _INFO),
    "dnf": _dnf,
    "yum": _dnf,
    "microdnf": _dnf,
    "zypper": _zypper,
    "apk": _apk,
    "brew": _brew,
    "port": _brew,
    "snap": _snap,
    "flatpak": _flatpak,
    "rustup": _rustup,
    **dict.fromkeys(
        names("pyenv rbenv nodenv goenv nvm fnm volta asdf mise rtx sdk corepack"),
        _runtimes,
    ),
    **dict.fromkeys(
        names("luarocks opam conan vcpkg nuget mix guix cabal stack"), _installer
    ),
    "cpan": entry(_INSTALL, "installs Perl modules"),
    "cpanm": entry(_INSTALL, "installs Perl modules"),
    "nix-env": entry(_INSTALL, "installs or removes nix packages"),
    "nix": entry(_INSTALL, "builds or fetches nix packages"),
    "nix-shell": entry(_INSTALL, "fetches packages and starts a shell with them"),
    "pacman": _by_letter("SURD"),
    "yay": _by_letter("SURD"),
    "paru": _by_letter("SURD"),
    "rpm": _by_letter("iUFe"),
    "dpkg": _by_letter("irPUa"),
}
"""Package managers and the project runners around them, by name."""
