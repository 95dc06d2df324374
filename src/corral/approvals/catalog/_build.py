"""Build tools and test runners, with the files whose content decides what they run.

``make`` runs its Makefile's recipes, ``pytest`` its conftest.py files, ``cargo``
its build.rs: each finding names those files (when they exist), so that an
approval given for a command stops covering it once they change.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Entry,
    Handler,
    Options,
    Sink,
    SubProgram,
    Table,
    dispatch,
    entry,
    first_operand,
    name_of,
    parse_options,
    spec,
)
from corral.approvals.catalog._installs import CARGO_FILES, GO_FILES, installs

__all__ = ["BUILD_PROGRAMS", "PYTEST_FILES", "pytest"]

_TEST = Category.TEST_BUILD
_READ = Category.READ
_EXECUTE = Category.EXECUTE
_INSTALL = Category.PACKAGE_INSTALL

PYTEST_FILES = ("conftest.py", "pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
"""What pytest reads before collecting: configuration, and conftest.py code."""
_PYTEST = spec(
    "-c --config-file --rootdir -k -m -p -o --override-ini --basetemp --junitxml "
    "--junit-xml --confcutdir --deselect --ignore --ignore-glob -W -n --maxfail "
    "--tb --durations --cov --cov-report --cov-config --import-mode --log-file",
)
# Conventional test directories, whose conftest.py is read without being named.
_TEST_DIRS = ("tests", "test", "testing")


def pytest(sink: Sink, argv: Argv) -> None:
    """pytest: runs the tests it collects and every conftest.py on the way."""
    parsed = parse_options(argv[1:], _PYTEST)
    found = list(sink.scripts(PYTEST_FILES, upward=True))
    found.extend(sink.scripts([f"{d}/conftest.py" for d in _TEST_DIRS]))
    for config in parsed.values("-c", "--config-file"):
        found.extend(sink.scripts([config.text]))
    for operand in parsed.operands:
        if operand.is_literal:
            folder = operand.text.split("::", 1)[0]
            folder = folder if not folder.endswith(".py") else folder.rpartition("/")[0]
            found.extend(
                sink.scripts(
                    ["conftest.py"], directory=Word(folder or "."), upward=True
                )
            )
    for target in parsed.values("--junitxml", "--junit-xml", "--log-file"):
        sink.write(argv, target)
    sink.emit(
        argv,
        _TEST,
        f"{name_of(argv[0])} runs the tests it collects",
        scripts=tuple(dict.fromkeys(found)),
    )


def _runner(
    what: str,
    files: tuple[str, ...],
    options: Options | None = None,
    *,
    config: tuple[str, ...] = (),
    upward: bool = False,
) -> Handler:
    """A test runner or build tool that reads `files` (or what `config` names)."""
    spec_ = options or Options()

    def handle(sink: Sink, argv: Argv) -> None:
        parsed = parse_options(argv[1:], spec_)
        named = parsed.values(*config) if config else []
        scripts = (
            sink.scripts([w.text for w in named if w.is_literal])
            if named
            else sink.scripts(files, upward=upward)
        )
        sink.emit(argv, _TEST, f"{name_of(argv[0])} {what}", scripts=scripts)

    return handle


_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
_MAKE = spec(
    "-f --file --makefile -C --directory -I --include-dir -j --jobs -l -o -W "
    "--what-if --eval -O --output-sync",
    "-n -k -s -B -i -q -r -R -t -w -e --dry-run",
    "-j --jobs",
)


def _make(sink: Sink, argv: Argv) -> None:
    """make: runs the recipes of its Makefile (``-f FILE``), in ``-C DIR``."""
    parsed = parse_options(argv[1:], _MAKE)
    directories = parsed.values("-C", "--directory")
    directory = directories[-1] if directories else None
    named = [
        w.text for w in parsed.values("-f", "--file", "--makefile") if w.is_literal
    ]
    scripts = sink.scripts(named or _MAKEFILES, directory=directory)
    if not named:
        scripts = scripts[:1]
    sink.emit(
        argv,
        _TEST,
        f"{name_of(argv[0])} runs the recipes of a makefile",
        scripts=scripts,
    )


_CARGO_FILES = ("Cargo.toml", "build.rs", ".cargo/config.toml", ".cargo/config")
_CARGO_GLOBAL = spec(
    "-C --manifest-path -Z --config --color --target-dir -j --jobs -p --package"
)


def _cargo_build(what: str, category: Category = _TEST) -> SubProgram:
    def handle(sink: Sink, argv: Argv, at: int) -> None:
        parsed = parse_options(argv[at + 1 :], _CARGO_GLOBAL)
        manifests = [w.text for w in parsed.values("--manifest-path") if w.is_literal]
        scripts = sink.scripts([*manifests, *_CARGO_FILES], upward=True)
        sink.emit(argv, category, f"cargo {argv[at].text} {what}", scripts=scripts)

    return handle


_CARGO: Mapping[str, Entry | SubProgram] = {
    **dict.fromkeys(
        (
            "build",
            "b",
            "check",
            "c",
            "test",
            "t",
            "bench",
            "doc",
            "d",
            "clippy",
            "rustc",
            "rustdoc",
            "miri",
            "llvm-cov",
            "nextest",
            "tarpaulin",
        ),
        _cargo_build("builds or tests the crate, running its build scripts"),
    ),
    **dict.fromkeys(("run", "r"), _cargo_build("builds and runs the crate", _EXECUTE)),
    "fmt": entry(_TEST, "formats the code"),
    "fix": entry(Category.EDIT, "rewrites the code with compiler suggestions"),
    "clean": entry(Category.EDIT, "removes build output"),
    "new": entry(Category.EDIT, "creates a crate"),
    "init": entry(Category.EDIT, "creates a crate"),
    **dict.fromkeys(
        (
            "add",
            "remove",
            "rm",
            "install",
            "update",
            "up",
            "fetch",
            "vendor",
            "generate-lockfile",
            "binstall",
        ),
        installs("adds, updates or downloads crates", CARGO_FILES),
    ),
    "uninstall": entry(Category.OUTSIDE_WRITE, "removes an installed binary"),
    **dict.fromkeys(
        (
            "metadata",
            "tree",
            "search",
            "locate-project",
            "pkgid",
            "verify-project",
            "read-manifest",
            "version",
            "help",
            "info",
        ),
        entry(_READ, "prints information about crates"),
    ),
    "publish": entry(Category.NETWORK, "uploads the crate to a registry"),
    "yank": entry(Category.NETWORK, "changes a published crate"),
    "owner": entry(Category.NETWORK, "changes a published crate's owners"),
    "login": entry(Category.SECRET, "stores a registry token"),
    "logout": entry(Category.SECRET, "removes a registry token"),
}


def _cargo(sink: Sink, argv: Argv) -> None:
    start = 2 if len(argv) > 1 and argv[1].text.startswith("+") else 1
    at = first_operand(argv, _CARGO_GLOBAL, start)
    if at is None and any(w.text in ("--list", "--version", "-V") for w in argv[1:]):
        sink.emit(argv, _READ, "cargo prints information about itself")
        return
    dispatch(sink, argv, at, _CARGO, missing=entry(_READ, "prints its help"))


_GO_BUILD = spec(
    "-o -C -p -tags -ldflags -gcflags -mod -modfile -overlay -pkgdir -toolexec -exec "
    "-run -bench -count -timeout -cpu -coverprofile -covermode -coverpkg -json -vet"
)


def _go_build(what: str, category: Category = _TEST) -> SubProgram:
    def handle(sink: Sink, argv: Argv, at: int) -> None:
        parsed = parse_options(argv[at + 1 :], _GO_BUILD)
        for target in parsed.values("-o", "-coverprofile"):
            sink.write(argv, target)
        for program in parsed.values("-toolexec", "-exec"):
            sink.emit(
                argv,
                _EXECUTE,
                f"go {argv[at].text} runs {program.text} around each tool",
            )
        sink.emit(
            argv,
            category,
            f"go {argv[at].text} {what}",
            scripts=sink.scripts(["go.mod"], upward=True),
        )

    return handle


def _go_env(sink: Sink, argv: Argv, at: int) -> None:
    if any(w.text in ("-w", "-u") for w in argv[at + 1 :]):
        sink.emit(
            argv,
            Category.OUTSIDE_WRITE,
            "go env -w changes go's settings in the home directory",
        )
    else:
        sink.emit(argv, _READ, "go env prints go's settings")


_GO_MOD: Mapping[str, Entry | SubProgram] = {
    **dict.fromkeys(
        ("download", "tidy", "vendor", "get"),
        installs("downloads modules", GO_FILES, program="go mod"),
    ),
    **dict.fromkeys(("init", "edit"), entry(Category.EDIT, "writes go.mod")),
    **dict.fromkeys(
        ("graph", "why", "verify"), entry(_READ, "prints module information")
    ),
}


def _go_mod(sink: Sink, argv: Argv, at: int) -> None:
    dispatch(
        sink,
        argv,
        first_operand(argv, Options(), at + 1),
        _GO_MOD,
        missing=entry(_READ, "prints its help"),
    )


_GO: Mapping[str, Entry | SubProgram] = {
    "build": _go_build("builds packages"),
    "test": _go_build("runs the tests of packages"),
    "vet": _go_build("checks packages"),
    "run": _go_build("builds and runs a program", _EXECUTE),
    "generate": entry(_EXECUTE, "runs the commands named in //go:generate comments"),
    "get": installs("downloads and adds modules", GO_FILES),
    "install": installs("downloads, builds and installs programs", GO_FILES),
    "mod": _go_mod,
    "work": entry(Category.EDIT, "writes go.work"),
    "fmt": entry(_TEST, "formats the code"),
    "fix": entry(Category.EDIT, "rewrites the code for new APIs"),
    "clean": entry(Category.EDIT, "removes build output"),
    "env": _go_env,
    "tool": entry(_EXECUTE, "runs a go tool"),
    **dict.fromkeys(
        ("version", "list", "doc", "help", "telemetry"),
        entry(_READ, "prints information"),
    ),
    "bug": entry(Category.NETWORK, "opens a bug report"),
}


def _go(sink: Sink, argv: Argv) -> None:
    dispatch(
        sink,
        argv,
        first_operand(argv, Options()),
        _GO,
        missing=entry(_READ, "prints its help"),
    )


_CMAKE_TOOLS_WRITE = frozenset(
    {
        "rm",
        "remove",
        "remove_directory",
        "make_directory",
        "touch",
        "touch_nocreate",
        "copy",
        "copy_directory",
        "copy_if_different",
        "rename",
        "create_symlink",
        "create_hardlink",
        "tar",
    }
)


def _cmake(sink: Sink, argv: Argv) -> None:
    """cmake: configures (running CMakeLists.txt), builds, or runs a tool (-E)."""
    texts = [w.text for w in argv]
    if "-E" in texts:
        at = texts.index("-E") + 1
        tool = texts[at] if at < len(argv) else ""
        if tool in _CMAKE_TOOLS_WRITE:
            removes = tool.startswith(("rm", "remove"))
            deep = tool == "remove_directory" or (tool == "rm" and "-r" in texts)
            for target in argv[at + 1 :]:
                if not target.text.startswith("-"):
                    verb = "removes" if removes else "writes"
                    sink.write(argv, target, verb=verb, recursive=deep)
            return
        sink.emit(argv, _READ, f"cmake -E {tool} runs a portable command")
        return
    if "-P" in texts:
        sink.emit(argv, _EXECUTE, "cmake -P runs a cmake script")
        return
    if "--install" in texts:
        sink.emit(
            argv,
            Category.OUTSIDE_WRITE,
            "cmake --install copies files into the install prefix",
        )
        return
    sources = [argv[i + 1] for i, t in enumerate(texts[:-1]) if t == "-S"]
    scripts = sink.scripts(
        ["CMakeLists.txt"], directory=sources[-1] if sources else None
    )
    sink.emit(argv, _TEST, "cmake configures or builds a project", scripts=scripts)


def _bazel(sink: Sink, argv: Argv) -> None:
    at = first_operand(argv, spec("--bazelrc --output_base --output_user_root"))
    command = argv[at].text if at is not None else ""
    scripts = sink.scripts(
        (
            "MODULE.bazel",
            "WORKSPACE",
            "WORKSPACE.bazel",
            "BUILD",
            "BUILD.bazel",
            ".bazelrc",
        ),
        upward=True,
    )
    if command == "run":
        sink.emit(argv, _EXECUTE, "bazel run builds and runs a target", scripts=scripts)
    elif command in ("query", "cquery", "aquery", "info", "version", "help"):
        sink.emit(argv, _READ, f"bazel {command} prints information")
    else:
        sink.emit(
            argv,
            _TEST,
            f"bazel {command or ''} builds or tests targets".replace("  ", " "),
            scripts=scripts,
        )


BUILD_PROGRAMS: Table = {
    "pytest": pytest,
    "py.test": pytest,
    "make": _make,
    "gmake": _make,
    "bmake": _make,
    "cargo": _cargo,
    "go": _go,
    "cmake": _cmake,
    "bazel": _bazel,
    "bazelisk": _bazel,
    "tox": _runner(
        "runs test environments from tox.ini",
        ("tox.ini", "pyproject.toml", "setup.cfg"),
        spec("-c -e --conf"),
        config=("-c", "--conf"),
    ),
    "nox": _runner(
        "runs the sessions of noxfile.py",
        ("noxfile.py",),
        spec("-f --noxfile -s --session"),
        config=("-f", "--noxfile"),
    ),
    "just": _runner(
        "runs the recipes of a justfile",
        ("justfile", "Justfile", ".justfile"),
        spec("-f --justfile -d --working-directory"),
        config=("-f", "--justfile"),
        upward=True,
    ),
    "task": _runner(
        "runs the tasks of a Taskfile",
        ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml"),
        spec("-t --taskfile -d --dir"),
        config=("-t", "--taskfile"),
        upward=True,
    ),
    "ninja": _runner(
        "runs the rules of build.ninja",
        ("build.ninja",),
        spec("-f -C -j -k -l -t -d -w"),
        config=("-f",),
    ),
    "meson": _runner(
        "configures, builds or tests a project",
        ("meson.build", "meson_options.txt", "meson.options"),
    ),
    "ctest": _runner("runs a project's tests", ("CTestTestfile.cmake",)),
    "mvn": _runner(
        "builds a project with its plugins",
        ("pom.xml", ".mvn/maven.config", ".mvn/jvm.config", ".mvn/extensions.xml"),
        spec("-f --file -s --settings"),
        config=("-f", "--file"),
    ),
    "mvnw": _runner(
        "builds a project with its plugins",
        ("pom.xml", ".mvn/wrapper/maven-wrapper.properties"),
    ),
    "gradle": _runner(
        "builds a project with its build scripts",
        (
            "build.gradle",
            "build.gradle.kts",
            "settings.gradle",
            "settings.gradle.kts",
            "gradle.properties",
        ),
    ),
    "gradlew": _runner(
        "builds a project with its build scripts",
        (
            "build.gradle",
            "build.gradle.kts",
            "settings.gradle",
            "settings.gradle.kts",
            "gradle.properties",
            "gradle/wrapper/gradle-wrapper.properties",
        ),
    ),
    "rake": _runner(
        "runs the tasks of a Rakefile",
        ("Rakefile", "rakefile", "Rakefile.rb"),
        spec("-f --rakefile"),
        config=("-f", "--rakefile"),
    ),
    "rspec": _runner(
        "runs the specs", (".rspec", "spec/spec_helper.rb", "spec/rails_helper.rb")
    ),
    "jest": _runner(
        "runs the tests",
        (
            "package.json",
            "jest.config.js",
            "jest.config.ts",
            "jest.config.mjs",
            "jest.config.cjs",
            "jest.config.json",
        ),
        spec("-c --config"),
        config=("-c", "--config"),
    ),
    "vitest": _runner(
        "runs the tests",
        (
            "package.json",
            "vitest.config.ts",
            "vitest.config.js",
            "vitest.config.mts",
            "vite.config.ts",
            "vite.config.js",
        ),
    ),
    "mocha": _runner(
        "runs the tests",
        (
            "package.json",
            ".mocharc.js",
            ".mocharc.cjs",
            ".mocharc.json",
            ".mocharc.yml",
        ),
    ),
    "playwright": _runner(
        "runs browser tests", ("playwright.config.ts", "playwright.config.js")
    ),
    "phpunit": _runner("runs the tests", ("phpunit.xml", "phpunit.xml.dist")),
    "sbt": _runner("builds a project", ("build.sbt",)),
}
"""Build tools and test runners that name the files they run."""
