"""The files that decide what a package install brings in, for its approval.

An install runs the build and install scripts of what it installs, and which
packages those are is written in the project's files (requirements, lock files,
package.json, pyproject.toml).  They are named in the finding's scripts, so an
approval given before one of them changed does not cover the install after.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Sink,
    SubProgram,
    name_of,
    parse_options,
    spec,
)

__all__ = [
    "BUNDLER_FILES",
    "BUN_FILES",
    "CARGO_FILES",
    "GO_FILES",
    "NPM_FILES",
    "PNPM_FILES",
    "POETRY_FILES",
    "UV_FILES",
    "YARN_FILES",
    "installs",
    "installs_bare",
    "pip_install",
    "uv_pip_sync",
]

_INSTALL = Category.PACKAGE_INSTALL

# Settings every JavaScript package manager reads: its scripts' shell, loaders.
_JS_SETTINGS = ("package.json", ".npmrc", ".pnpmfile.cjs")
NPM_FILES = (*_JS_SETTINGS, "package-lock.json", "npm-shrinkwrap.json")
YARN_FILES = (*_JS_SETTINGS, "yarn.lock", ".yarnrc.yml", ".yarnrc", ".pnp.cjs")
PNPM_FILES = (*_JS_SETTINGS, "pnpm-lock.yaml", "pnpm-workspace.yaml")
BUN_FILES = (*_JS_SETTINGS, "bun.lock", "bun.lockb", "bunfig.toml")
_PYTHON_PROJECT = ("pyproject.toml", "setup.py", "setup.cfg")
UV_FILES = (*_PYTHON_PROJECT, "uv.lock", "uv.toml")
POETRY_FILES = ("pyproject.toml", "poetry.lock", "poetry.toml")
BUNDLER_FILES = ("Gemfile", "Gemfile.lock", "gems.rb", "gems.locked")
GO_FILES = ("go.mod", "go.sum", "go.work", "go.work.sum")
CARGO_FILES = ("Cargo.toml", "Cargo.lock", "build.rs", ".cargo/config.toml")

# Options that move a package manager to another project directory.
_PLACES = frozenset({"--prefix", "--cwd", "-C", "--dir", "--directory", "--project"})

# pip's options that take a value: the files among them name what it installs.
_PIP_INSTALL = spec(
    "-r --requirement -c --constraint -e --editable -i --index-url "
    "--extra-index-url -f --find-links -t --target --prefix --root --src "
    "--platform --python-version --implementation --abi --no-binary --only-binary "
    "--progress-bar -C --config-settings --global-option --report "
    "--upgrade-strategy --python --cache-dir --log --log-file --proxy --retries "
    "--timeout --exists-action --trusted-host --cert --client-cert --use-feature "
    "--use-deprecated --keyring-provider -d --dest -w --wheel-dir"
)


def _directory(argv: Argv) -> Word | None:
    places = [argv[i + 1] for i, w in enumerate(argv[:-1]) if w.text in _PLACES]
    return places[-1] if places else None


def installs(what: str, files: Sequence[str], *, program: str = "") -> SubProgram:
    """A subcommand that installs what the project's `files` name.

    `program` is how the reason names the program, when more than its first
    word (``go mod``).
    """

    def handle(sink: Sink, argv: Argv, at: int) -> None:
        scripts = sink.scripts(files, directory=_directory(argv), upward=True)
        reason = f"{program or name_of(argv[0])} {argv[at].text} {what}"
        sink.emit(argv, _INSTALL, reason, scripts=scripts)

    return handle


def installs_bare(what: str, files: Sequence[str]) -> Handler:
    """The program run without a subcommand, which installs (``yarn``, ``bundle``)."""

    def handle(sink: Sink, argv: Argv) -> None:
        scripts = sink.scripts(files, directory=_directory(argv), upward=True)
        sink.emit(argv, _INSTALL, f"{name_of(argv[0])} {what}", scripts=scripts)

    return handle


def _is_local(text: str, *, editable: bool) -> bool:
    """Whether a pip requirement names a directory rather than a package.

    An editable one always names a directory, unless it is a URL.
    """
    if ":" in text:
        return False
    return editable or text.startswith((".", "/", "~")) or "/" in text


def pip_install(what: str) -> SubProgram:
    """pip install, download, wheel: ``-r``/``-c`` files and local projects."""

    def handle(sink: Sink, argv: Argv, at: int) -> None:
        parsed = parse_options(argv[at + 1 :], _PIP_INSTALL)
        listed = parsed.values("-r", "--requirement", "-c", "--constraint")
        files = [w.text for w in listed if w.is_literal]
        editable = parsed.values("-e", "--editable")
        for word in [*editable, *parsed.operands]:
            if word.is_literal and _is_local(word.text, editable=word in editable):
                folder = word.text.split("[", 1)[0].rstrip("/") or "/"
                files.extend(f"{folder}/{name}" for name in _PYTHON_PROJECT)
        reason = f"{name_of(argv[0])} {argv[at].text} {what}"
        sink.emit(argv, _INSTALL, reason, scripts=sink.scripts(files))

    return handle


def uv_pip_sync(sink: Sink, argv: Argv, at: int) -> None:
    """uv pip sync FILE...: installs exactly what the requirements files list."""
    parsed = parse_options(argv[at + 1 :], _PIP_INSTALL)
    files = [w.text for w in parsed.operands if w.is_literal]
    reason = "uv pip sync installs what the requirements files list"
    sink.emit(argv, _INSTALL, reason, scripts=sink.scripts(files))
