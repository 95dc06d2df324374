"""JavaScript package managers: npm, yarn, pnpm, bun, and the runners of packages.

Installing brings in code from outside (``package-install``), and so do
``npx``, ``pnpm dlx`` and ``bunx``, which download a package and run it.
Running the project's own scripts (``npm test``, ``yarn build``) is a build,
and names package.json with the settings that pick the scripts' shell.
"""

from __future__ import annotations

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Sink,
    SubProgram,
    Table,
    first_operand,
    name_of,
    names,
    spec,
    subcommands,
)
from corral.approvals.catalog._installs import (
    BUN_FILES,
    NPM_FILES,
    PNPM_FILES,
    YARN_FILES,
    installs,
    installs_bare,
)

__all__ = ["JS_FILES", "JS_PROGRAMS", "runs_inner"]

_INSTALL = Category.PACKAGE_INSTALL
_TEST = Category.TEST_BUILD
_READ = Category.READ

JS_FILES = (
    "package.json",
    ".npmrc",
    ".yarnrc.yml",
    ".yarnrc",
    ".pnpmfile.cjs",
    "bunfig.toml",
)
"""What decides a package manager's scripts: package.json, and the settings
that pick their shell or loader."""

# Options that move a package manager to another project directory.
_PLACES = frozenset({"--prefix", "--cwd", "-C", "--dir"})


def project_scripts(what: str) -> SubProgram:
    """A package manager running one of the project's scripts."""

    def handle(sink: Sink, argv: Argv, at: int) -> None:
        places = [argv[i + 1] for i, w in enumerate(argv[:-1]) if w.text in _PLACES]
        directory = places[-1] if places else None
        scripts = sink.scripts(JS_FILES, directory=directory, upward=True)
        reason = f"{name_of(argv[0])} {argv[at].text} {what}"
        sink.emit(argv, _TEST, reason, scripts=scripts)

    return handle


def runs_inner(valued: str = "") -> SubProgram:
    """``poetry run CMD``, ``bundle exec CMD``: the command runs in the project's
    environment and is classified as itself."""
    options = spec(valued)

    def handle(sink: Sink, argv: Argv, at: int) -> None:
        start = first_operand(argv, options, at + 1)
        if start is None:
            sink.emit(argv, _READ, f"{name_of(argv[0])} {argv[at].text} runs nothing")
            return
        inner = argv[start:]
        if inner[0].is_literal and inner[0].text.endswith(".py"):
            inner = (Word("python"), *inner)
        sink.command(inner)

    return handle


def _npm_init(sink: Sink, argv: Argv, at: int) -> None:
    named = at + 1 < len(argv) and not argv[at + 1].text.startswith("-")
    what = "creates package.json (from a package, when one is named)"
    sink.emit(argv, _INSTALL if named else Category.EDIT, f"npm init {what}")


def _npm_config(sink: Sink, argv: Argv, at: int) -> None:
    reads = at + 1 < len(argv) and argv[at + 1].text in ("get", "list", "ls")
    what = "reads or writes npm's settings, beside its registry tokens"
    sink.emit(argv, _READ if reads else Category.SECRET, f"npm config {what}")


def _npm_version(sink: Sink, argv: Argv, at: int) -> None:
    bumps = at + 1 < len(argv)
    category = Category.GIT_WRITE if bumps else _READ
    what = "bumps the version, committing and tagging it" if bumps else "prints it"
    sink.emit(argv, category, f"npm version {what}", git_write=bumps)


_RUN = project_scripts("runs a package.json script")

_npm = subcommands(
    [
        (_INSTALL, "downloads and runs a package", "exec x"),
        (
            _READ,
            "prints package information",
            "ls list ll la view v info show outdated explain why fund search s se "
            "find help docs repo bugs get prefix root bin doctor sbom query diff "
            "completion help-search",
        ),
        (
            Category.NETWORK,
            "changes what a registry publishes",
            "publish unpublish deprecate dist-tag access owner team org star unstar "
            "hook ping whoami",
        ),
        (Category.SECRET, "handles registry credentials", "login adduser logout token"),
        (Category.EDIT, "writes package.json", "pkg set-script"),
        (_TEST, "packs the project, running its prepack scripts", "pack"),
    ],
    options=spec("--prefix -w --workspace --registry --cache --userconfig --loglevel"),
    extra={
        **dict.fromkeys(
            names(
                "install i in ins inst insta instal isnt isnta isntal isntall add ci "
                "clean-install ic install-clean isntall-clean install-test it "
                "install-ci-test cit update up upgrade udpate uninstall remove rm r un "
                "unlink link ln rebuild rb dedupe ddp prune audit"
            ),
            installs(
                "installs or changes packages, running their install scripts",
                NPM_FILES,
            ),
        ),
        **dict.fromkeys(
            ("test", "t", "tst", "run", "run-script", "rum", "urn", "start"), _RUN
        ),
        **dict.fromkeys(("stop", "restart"), _RUN),
        "init": _npm_init,
        "create": _npm_init,
        "config": _npm_config,
        "version": _npm_version,
    },
)

_SCRIPT = project_scripts("runs a package.json script or a package's program")

_yarn = subcommands(
    [
        (_INSTALL, "installs packages for the whole machine", "global"),
        (_INSTALL, "changes yarn itself", "plugin set"),
        (_INSTALL, "downloads and runs a package", "dlx create"),
        (
            _READ,
            "prints package information",
            "info list why licenses outdated bin workspaces explain constraints config",
        ),
        (Category.NETWORK, "publishes a package", "publish npm"),
        (Category.SECRET, "handles registry credentials", "login logout"),
    ],
    options=spec("--cwd"),
    missing=installs_bare("installs the project's packages", YARN_FILES),
    extra={
        "exec": runs_inner(),
        "node": runs_inner(),
        **dict.fromkeys(
            names(
                "install add up upgrade upgrade-interactive remove link unlink "
                "import dedupe patch"
            ),
            installs("installs or changes packages", YARN_FILES),
        ),
    },
    fallback=_SCRIPT,
)

_pnpm = subcommands(
    [
        (_INSTALL, "downloads and runs a package", "dlx create"),
        (
            _READ,
            "prints package information",
            "list ls ll why outdated audit licenses root bin store config",
        ),
        (Category.NETWORK, "publishes a package", "publish"),
        (Category.SECRET, "handles registry credentials", "login logout"),
    ],
    options=spec("-C --dir -F --filter -w --workspace-root"),
    extra={
        "exec": runs_inner(),
        **dict.fromkeys(
            names(
                "install i add update up upgrade remove rm un uninstall link ln "
                "unlink import rebuild rb prune fetch patch patch-commit "
                "install-test it dedupe approve-builds"
            ),
            installs("installs or changes packages", PNPM_FILES),
        ),
    },
    fallback=_SCRIPT,
)

_BUN_INSTALLS = frozenset(
    names("install i add a remove rm update upgrade link unlink pm patch")
)


def _bun(sink: Sink, argv: Argv) -> None:
    """bun: installs, tests, runs a package.json script, or runs a file."""
    at = first_operand(argv, spec("--cwd -c --config"))
    command = argv[at].text if at is not None else ""
    target = argv[at + 1].text if at is not None and at + 1 < len(argv) else ""
    if command in _BUN_INSTALLS:
        scripts = sink.scripts(BUN_FILES, upward=True)
        what = f"bun {command} installs or changes packages"
        sink.emit(argv, _INSTALL, what, scripts=scripts)
    elif command in ("x", "create", "c", "init"):
        sink.emit(argv, _INSTALL, f"bun {command} downloads and runs a package")
    elif command in ("test", "build"):
        scripts = sink.scripts(JS_FILES, upward=True)
        sink.emit(argv, _TEST, f"bun {command} builds or tests code", scripts=scripts)
    elif (command == "run" and "." in target) or "." in command or "/" in command:
        script = target if command == "run" else command
        scripts = sink.scripts([script])
        sink.emit(argv, Category.EXECUTE, f"bun runs {script}", scripts=scripts)
    elif command:
        scripts = sink.scripts(JS_FILES, upward=True)
        sink.emit(argv, _TEST, "bun runs a package.json script", scripts=scripts)
    else:
        sink.emit(argv, _READ, "bun prints its help")


def downloads_and_runs(sink: Sink, argv: Argv) -> None:
    """npx, pnpx, bunx, uvx: fetch a package from an index and run it."""
    sink.emit(argv, _INSTALL, f"{name_of(argv[0])} downloads and runs a package")


JS_PROGRAMS: Table = {
    "npm": _npm,
    "yarn": _yarn,
    "yarnpkg": _yarn,
    "pnpm": _pnpm,
    "bun": _bun,
    "npx": downloads_and_runs,
    "pnpx": downloads_and_runs,
    "bunx": downloads_and_runs,
}
"""JavaScript package managers, by name."""
