"""Interpreters, compilers, linters and formatters: the tools of writing code.

Interpreters run code (inside the sandbox), so they are ``execute``; ``python
-m MODULE`` is classified as the module's own program (``python -m pip
install`` installs packages).  Compilers, linters and formatters are builds.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Entry,
    Handler,
    Sink,
    Table,
    entry,
    name_of,
    names,
    parse_options,
    spec,
)
from corral.approvals.catalog._build import BUILD_PROGRAMS

__all__ = ["DEV_PROGRAMS"]

_TEST = Category.TEST_BUILD
_READ = Category.READ
_EXECUTE = Category.EXECUTE

# python's short options that take the next word; -c and -m end the options.
_PYTHON_VALUED = frozenset("WXQ")

# python -m MODULE: modules that are programs corral knows by another name.
_PYTHON_MODULES: Mapping[str, str] = {
    "pytest": "pytest",
    "py.test": "pytest",
    "pip": "pip",
    "pip3": "pip",
    "pipx": "pipx",
    "uv": "uv",
    "poetry": "poetry",
    "pdm": "pdm",
    "hatch": "hatch",
    "tox": "tox",
    "nox": "nox",
    "mypy": "mypy",
    "black": "black",
    "ruff": "ruff",
    "isort": "isort",
    "flake8": "flake8",
    "pylint": "pylint",
    "pyright": "pyright",
    "coverage": "coverage",
    "pre_commit": "pre-commit",
    "twine": "twine",
    "venv": "virtualenv",
    "virtualenv": "virtualenv",
    "build": "python-build",
    "mkdocs": "mkdocs",
    "sphinx": "sphinx-build",
    "bandit": "bandit",
    "pydocstyle": "pydocstyle",
    "pycodestyle": "pycodestyle",
}
_PYTHON_MODULE_ENTRIES: Mapping[str, Entry] = {
    "unittest": entry(_TEST, "runs unit tests"),
    "doctest": entry(_TEST, "runs doctests"),
    "compileall": entry(_TEST, "compiles modules"),
    "py_compile": entry(_TEST, "compiles modules"),
    "ensurepip": entry(Category.PACKAGE_INSTALL, "installs pip"),
    "http.server": entry(Category.NETWORK, "serves files over HTTP"),
    "json.tool": entry(_READ, "formats JSON"),
    "pydoc": entry(_READ, "prints documentation"),
    "site": entry(_READ, "prints the module search path"),
    "sysconfig": entry(_READ, "prints the build configuration"),
    "platform": entry(_READ, "prints the platform"),
    "tokenize": entry(_READ, "prints tokens"),
    "ast": entry(_READ, "prints a syntax tree"),
    "dis": entry(_READ, "prints bytecode"),
    "this": entry(_READ, "prints a poem"),
}


def _python(sink: Sink, argv: Argv) -> None:
    """python: ``-c`` code, ``-m`` module, a script file, or a program on stdin."""
    name = name_of(argv[0])
    index = 1
    while index < len(argv):
        word = argv[index]
        text = word.text
        if not word.is_literal or not text.startswith("-") or text == "-":
            break
        index += 1
        if text in ("-V", "-VV", "--version", "-h", "--help"):
            sink.emit(argv, _READ, f"{name} {text} prints its version or help")
            return
        if text.startswith("--"):
            continue
        for position, char in enumerate(text[1:], start=2):
            value = text[position:]
            if char in "cm":
                code = (
                    Word(value)
                    if value
                    else (argv[index] if index < len(argv) else None)
                )
                rest = index if value else index + 1
                if char == "c":
                    sink.emit(argv, _EXECUTE, f"{name} -c runs inline code")
                else:
                    _module(sink, argv, code, argv[rest:])
                return
            if char in _PYTHON_VALUED:
                index += 0 if value else 1
                break
    operands = argv[index:]
    if operands and operands[0].text != "-":
        script = operands[0]
        scripts = sink.scripts([script.text]) if script.is_literal else ()
        sink.emit(argv, _EXECUTE, f"{name} runs {script.text}", scripts=scripts)
    else:
        sink.emit(argv, _EXECUTE, f"{name} runs a program read from stdin")


def _module(sink: Sink, argv: Argv, module: Word | None, rest: Argv) -> None:
    name = name_of(argv[0])
    if module is None or not module.is_literal:
        sink.emit(argv, _EXECUTE, f"{name} -m runs a module only known at run time")
        return
    program = _PYTHON_MODULES.get(module.text)
    if program is not None:
        sink.command((Word(program), *rest))
        return
    known = _PYTHON_MODULE_ENTRIES.get(module.text)
    if known is not None:
        sink.emit(argv, known.category, f"{name} -m {module.text} {known.what}")
    else:
        sink.emit(argv, _EXECUTE, f"{name} -m {module.text} runs that module")


_NODE = spec(
    "-r --require --import --loader --experimental-loader -e --eval -p --print --run "
    "-C --conditions --env-file --input-type",
    "-c --check -i --interactive --test -v --version --inspect --watch",
)


def _node(sink: Sink, argv: Argv) -> None:
    """node: a script, ``-e`` code, ``--test``, or ``--run`` of a package script."""
    parsed = parse_options(argv[1:], _NODE)
    if parsed.has("--run"):
        sink.emit(
            argv,
            _TEST,
            "node --run runs a package.json script",
            scripts=sink.scripts(["package.json"], upward=True),
        )
    elif parsed.has("--test"):
        sink.emit(argv, _TEST, "node --test runs the tests it finds")
    elif parsed.has("-c", "--check"):
        sink.emit(argv, _READ, "node --check checks syntax")
    elif parsed.has("-e", "--eval", "-p", "--print"):
        sink.emit(argv, _EXECUTE, "node runs inline code")
    elif parsed.operands:
        script = parsed.operands[0]
        scripts = sink.scripts([script.text]) if script.is_literal else ()
        sink.emit(argv, _EXECUTE, f"node runs {script.text}", scripts=scripts)
    else:
        sink.emit(argv, _EXECUTE, "node runs a program read from stdin")


def _interpreter(inline: str, valued: str = "", *, edits: str = "") -> Handler:
    """An interpreter: `inline` options hold code; `edits` ones edit files in place."""
    inline_options = frozenset(inline.split())
    spec_ = spec(f"{inline} {valued}", "", edits)

    def handle(sink: Sink, argv: Argv) -> None:
        name = name_of(argv[0])
        parsed = parse_options(argv[1:], spec_)
        operands = parsed.operands
        if parsed.has(*inline_options):
            sink.emit(argv, _EXECUTE, f"{name} runs inline code")
        elif operands:
            script, operands = operands[0], operands[1:]
            scripts = sink.scripts([script.text]) if script.is_literal else ()
            sink.emit(argv, _EXECUTE, f"{name} runs {script.text}", scripts=scripts)
        else:
            sink.emit(argv, _EXECUTE, f"{name} runs a program read from stdin")
        if edits and parsed.has(*edits.split()):
            for target in operands:
                sink.write(argv, target, verb="edits")

    return handle


_COMPILE = spec(
    "-o -I -L -D -U -x -MF -MT -MQ -include -isystem -iquote -l -e -T -u -z -Xlinker "
    "--out-dir --emit --target -std"
)


def _compiler(sink: Sink, argv: Argv) -> None:
    """A compiler or linker: a build, whose ``-o`` output is written."""
    parsed = parse_options(argv[1:], _COMPILE)
    for target in parsed.values("-o", "-MF", "--out-dir"):
        sink.write(argv, target)
    sink.emit(argv, _TEST, f"{name_of(argv[0])} compiles code")


def _pre_commit(sink: Sink, argv: Argv) -> None:
    """pre-commit: runs its hooks; ``install`` writes into .git/hooks."""
    command = next((w.text for w in argv[1:] if not w.text.startswith("-")), "run")
    config = sink.scripts([".pre-commit-config.yaml"])
    if command in ("install", "uninstall", "init-templatedir"):
        sink.emit(
            argv,
            Category.PROTECTED_WRITE,
            f"pre-commit {command} writes a hook into .git/hooks",
        )
    elif command in ("install-hooks", "autoupdate", "try-repo", "migrate-config"):
        sink.emit(
            argv,
            Category.PACKAGE_INSTALL,
            f"pre-commit {command} downloads hook environments",
        )
    elif command in ("sample-config", "validate-config", "validate-manifest", "help"):
        sink.emit(argv, _READ, f"pre-commit {command} prints or checks configuration")
    else:
        sink.emit(
            argv,
            _TEST,
            f"pre-commit {command} runs the hooks it configures",
            scripts=config,
        )


def _husky(sink: Sink, argv: Argv) -> None:
    sink.emit(
        argv,
        Category.PROTECTED_WRITE,
        "husky points git's hooks at its directory (core.hooksPath)",
    )


def _deno(sink: Sink, argv: Argv) -> None:
    command = argv[1].text if len(argv) > 1 else ""
    if command in ("test", "bench", "check", "lint", "fmt", "compile", "bundle", "doc"):
        sink.emit(
            argv,
            _TEST,
            f"deno {command} builds or tests code",
            scripts=sink.scripts(["deno.json", "deno.jsonc"], upward=True),
        )
    elif command in ("install", "add", "cache", "outdated", "upgrade"):
        sink.emit(argv, Category.PACKAGE_INSTALL, f"deno {command} downloads modules")
    elif command in ("info", "types", "completions", "help", "--version"):
        sink.emit(argv, _READ, f"deno {command} prints information")
    else:
        sink.emit(argv, _EXECUTE, "deno runs code")


_INTERPRETERS: Table = {
    "python": _python,
    "pypy": _python,
    "pypy3": _python,
    "node": _node,
    "nodejs": _node,
    "deno": _deno,
    "perl": _interpreter("-e -E", "-I -M -m -x -C", edits="-i"),
    "ruby": _interpreter("-e", "-I -r -C -x -E", edits="-i"),
    "php": _interpreter("-r", "-c -d -z -f -S -t"),
    "lua": _interpreter("-e", "-l"),
    "luajit": _interpreter("-e", "-l -j -O"),
    "Rscript": _interpreter("-e"),
    "R": _interpreter("-e"),
    "julia": _interpreter("-e --eval -E --print"),
    "tclsh": _interpreter(""),
    "guile": _interpreter("-c -e"),
    "racket": _interpreter("-e --eval"),
    "elixir": _interpreter("-e --eval"),
    "erl": _interpreter("-eval"),
    "escript": _interpreter(""),
    "groovy": _interpreter("-e"),
    "kotlin": _interpreter("-e"),
    "scala": _interpreter("-e"),
    "swift": _interpreter("-e"),
    "dart": _interpreter(""),
    "java": _interpreter("", "-cp -classpath --class-path -jar -D"),
    "runghc": _interpreter(""),
    "ocaml": _interpreter(""),
    "osascript": _interpreter("-e"),
    "ts-node": _interpreter("-e --eval -p --print"),
    "tsx": _interpreter("-e --eval -p --print"),
    "ipython": _interpreter("-c"),
    "jshell": entry(_EXECUTE, "runs Java code"),
    "irb": entry(_EXECUTE, "runs Ruby code"),
    "ghci": entry(_EXECUTE, "runs Haskell code"),
    "jupyter": entry(_EXECUTE, "runs notebooks and kernels"),
    "gdb": entry(_EXECUTE, "runs and debugs a program"),
    "lldb": entry(_EXECUTE, "runs and debugs a program"),
    "expect": entry(_EXECUTE, "runs an expect script"),
    "dc": entry(_EXECUTE, "runs a dc program, which can run shell commands"),
    "ldd": entry(_EXECUTE, "runs a program's loader to list its libraries"),
}

_COMPILERS = names(
    "gcc g++ cc c++ clang clang++ rustc tcc icc nvcc ld ld.lld lld ld.gold as ar "
    "ranlib strip objcopy zig nim swiftc ghc kotlinc scalac javac gfortran gccgo "
    "emcc wasm-pack protoc flatc bison flex yacc lex"
)

_BUILDERS = names(
    "autoconf automake autoreconf libtool scons waf premake5 xmake buck buck2 pants "
    "ant lein rebar3 dune msbuild xcodebuild swift-build tsc "
    "webpack vite rollup esbuild parcel turbo nx lerna gulp grunt babel swc next "
    "nuxt astro hugo jekyll mkdocs sphinx-build doxygen python-build wheel maturin "
    "setup.py karma ava jasmine cypress tap bats busted shellspec pest minitest "
    "cucumber behave coverage nyc c8"
)

_CHECKERS = names(
    "ruff mypy pyright pyre pytype black isort autopep8 yapf flake8 pylint "
    "pycodestyle pydocstyle bandit vulture codespell eslint prettier biome "
    "stylelint tslint standard xo oxlint shellcheck shfmt hadolint yamllint "
    "markdownlint clang-format clang-tidy cppcheck cpplint rustfmt gofmt goimports "
    "golangci-lint staticcheck rubocop standardrb php-cs-fixer phpstan psalm ktlint "
    "detekt swiftlint swiftformat tflint actionlint commitlint semgrep pip-audit "
    "safety interrogate darglint pyupgrade docformatter djlint sqlfluff taplo "
    "dprint editorconfig-checker lychee typos"
)

DEV_PROGRAMS: Table = {
    **_INTERPRETERS,
    **dict.fromkeys(_COMPILERS, _compiler),
    **dict.fromkeys(_BUILDERS, entry(_TEST, "builds or tests code")),
    **dict.fromkeys(_CHECKERS, entry(_TEST, "checks or formats code")),
    "pre-commit": _pre_commit,
    "husky": _husky,
    "virtualenv": entry(Category.EDIT, "creates a virtual environment"),
    **BUILD_PROGRAMS,
}
"""Interpreters, compilers, linters, build tools and test runners, by name."""
