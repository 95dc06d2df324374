"""Python package managers and project runners: pip, pipx, uv, poetry, conda, ...

``pip install`` and its kin bring in packages, which run their build code;
``pip list`` and ``pip show`` only read.  ``uvx`` and ``pipx run`` download
and run a package.  ``uv run``, ``poetry run`` and ``conda run`` classify the
command they run in the project's environment.
"""

from __future__ import annotations

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Sink,
    Table,
    name_of,
    parse_options,
    spec,
    subcommands,
)
from corral.approvals.catalog._installs import (
    POETRY_FILES,
    UV_FILES,
    installs,
    pip_install,
    uv_pip_sync,
)
from corral.approvals.catalog._js import downloads_and_runs, runs_inner

__all__ = ["PYTHON_PACKAGE_PROGRAMS"]

_INSTALL = Category.PACKAGE_INSTALL
_TEST = Category.TEST_BUILD
_READ = Category.READ
_EDIT = Category.EDIT
_OUTSIDE = Category.OUTSIDE_WRITE
_NETWORK = Category.NETWORK


def _pip_config(sink: Sink, argv: Argv, at: int) -> None:
    reads = at + 1 < len(argv) and argv[at + 1].text in ("list", "get", "debug")
    category = _READ if reads else _OUTSIDE
    sink.emit(argv, category, "pip config reads or writes pip's settings")


_pip = subcommands(
    [
        (_INSTALL, "removes packages", "uninstall"),
        (
            _READ,
            "prints package information",
            "list show freeze check debug inspect help hash search index completion "
            "cache",
        ),
    ],
    options=spec(
        "--python --cache-dir --log --log-file --proxy --retries --timeout "
        "--exists-action --trusted-host --cert --client-cert --use-feature "
        "--use-deprecated --keyring-provider"
    ),
    extra={
        "config": _pip_config,
        "install": pip_install("installs packages, running their build code"),
        "download": pip_install("downloads packages, building those it must"),
        "wheel": pip_install("builds wheels, running the packages' build code"),
    },
)

_pipx = subcommands(
    [
        (
            _INSTALL,
            "installs or runs packages from an index",
            "install install-all inject upgrade upgrade-all upgrade-shared reinstall "
            "reinstall-all run runpip",
        ),
        (
            _OUTSIDE,
            "changes what is installed in the home directory",
            "uninstall uninstall-all uninject ensurepath pin unpin",
        ),
        (_READ, "prints what is installed", "list environment completions interpreter"),
    ],
)

_UV_VALUED = (
    "--directory --project -p --python --cache-dir --config-file --color --index "
    "--default-index --with --with-requirements --with-editable --extra --group "
    "--package"
)
_UV_RUN = spec(_UV_VALUED, permute=False)


def _uv_run(sink: Sink, argv: Argv, at: int) -> None:
    """uv run [options] COMMAND: the command, in the project's environment."""
    parsed = parse_options(argv[at + 1 :], _UV_RUN)
    if parsed.has("--with", "--with-requirements", "--with-editable"):
        sink.emit(argv, _INSTALL, "uv run --with installs packages for the command")
    directories = parsed.values("--directory")
    inner = argv[at + 1 + parsed.rest :]
    if not inner:
        sink.emit(argv, _READ, "uv run runs nothing")
        return
    if inner[0].is_literal and inner[0].text.endswith(".py"):
        inner = (Word("python"), *inner)
    sink.command(inner, cwd=directories[-1] if directories else None)


_uv_pip = subcommands(
    [
        (_INSTALL, "removes packages", "uninstall"),
        (_READ, "prints package information", "list show freeze check tree"),
        (_EDIT, "writes a requirements file", "compile"),
    ],
    extra={
        "install": pip_install("installs packages, running their build code"),
        "sync": uv_pip_sync,
    },
)
_uv_tool = subcommands(
    [
        (_INSTALL, "installs or runs tools from an index", "install run upgrade"),
        (_OUTSIDE, "removes an installed tool", "uninstall update-shell"),
        (_READ, "lists tools", "list dir"),
    ],
)


def _uv_nested(sink: Sink, argv: Argv, at: int) -> None:
    """uv pip ..., uv tool ...: a subcommand with subcommands of its own."""
    nested = _uv_pip if argv[at].text == "pip" else _uv_tool
    nested(sink, argv[at:])


_uv = subcommands(
    [
        (_INSTALL, "downloads python builds or updates uv", "python self"),
        (_EDIT, "creates a project or environment", "init venv"),
        (_TEST, "builds or formats the project", "build format"),
        (_NETWORK, "uploads packages to an index", "publish"),
        (_READ, "prints project information", "tree export version help"),
        (_EDIT, "manages uv's cache", "cache"),
    ],
    options=spec(_UV_VALUED),
    extra={
        "run": _uv_run,
        "pip": _uv_nested,
        "tool": _uv_nested,
        **dict.fromkeys(
            ("add", "remove", "sync", "lock"),
            installs("installs, locks or syncs packages", UV_FILES),
        ),
    },
)

_poetry = subcommands(
    [
        (_INSTALL, "installs or updates poetry itself", "self"),
        (
            _READ,
            "prints project information",
            "show check about search export debug version list",
        ),
        (_TEST, "builds the project", "build"),
        (_NETWORK, "uploads the project to an index", "publish"),
        (_EDIT, "creates or changes the project", "new init env source"),
        (Category.EXECUTE, "starts a shell in the project's environment", "shell"),
        (_OUTSIDE, "writes poetry's settings", "config"),
    ],
    options=spec("-C --directory -P --project"),
    extra={
        "run": runs_inner(),
        **dict.fromkeys(
            ("install", "add", "remove", "update", "lock", "sync"),
            installs("installs, adds or locks packages", POETRY_FILES),
        ),
    },
)

_pipenv = subcommands(
    [
        (
            _INSTALL,
            "installs or locks packages",
            "install uninstall update upgrade lock sync",
        ),
        (_READ, "prints project information", "graph check requirements scan verify"),
        (Category.EXECUTE, "starts a shell in the project's environment", "shell"),
    ],
    extra={"run": runs_inner()},
)

_pdm = subcommands(
    [
        (
            _INSTALL,
            "installs or locks packages",
            "add install remove update lock sync self fetch",
        ),
        (_READ, "prints project information", "list show info outdated export config"),
        (_TEST, "builds the project", "build"),
        (_NETWORK, "uploads the project to an index", "publish"),
        (_EDIT, "creates the project or environment", "init new venv"),
    ],
    extra={"run": runs_inner()},
)

_hatch = subcommands(
    [
        (_TEST, "runs the project's environment scripts", "run test fmt build"),
        (_INSTALL, "creates environments with their packages", "env dep python self"),
        (_NETWORK, "uploads the project to an index", "publish"),
        (_READ, "prints project information", "status version project config"),
        (Category.EXECUTE, "starts a shell in an environment", "shell"),
        (_EDIT, "creates a project", "new"),
    ],
)

_CONDA_RUN = spec(
    "-n --name -p --prefix --cwd", "--no-capture-output --live-stream", permute=False
)


def _conda_run(sink: Sink, argv: Argv, at: int) -> None:
    parsed = parse_options(argv[at + 1 :], _CONDA_RUN)
    inner = argv[at + 1 + parsed.rest :]
    if inner:
        sink.command(inner)
    else:
        sink.emit(argv, _READ, f"{name_of(argv[0])} run runs nothing")


_conda = subcommands(
    [
        (
            _INSTALL,
            "installs or removes packages",
            "install create update upgrade remove uninstall env",
        ),
        (
            _READ,
            "prints environment information",
            "list info search activate deactivate doctor compare",
        ),
        (_EDIT, "removes cached packages", "clean"),
        (_OUTSIDE, "writes conda's settings", "config init"),
    ],
    extra={"run": _conda_run},
)

PYTHON_PACKAGE_PROGRAMS: Table = {
    "pip": _pip,
    "pipx": _pipx,
    "uv": _uv,
    "uvx": downloads_and_runs,
    "poetry": _poetry,
    "pipenv": _pipenv,
    "pdm": _pdm,
    "rye": _pdm,
    "hatch": _hatch,
    "conda": _conda,
    "mamba": _conda,
    "micromamba": _conda,
}
"""Python package managers and project runners, by name."""
