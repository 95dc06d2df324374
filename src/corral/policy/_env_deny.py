"""Variables a project policy may not set: they decide what runs, loads or is trusted.

A repository can come from anyone.  Setting one of these would turn a command
a person approved into another: a different program, a library loaded into
it, start-up code, a package index, a proxy.  The user policy may set them.
Names are matched case-insensitively (npm and proxies read lower-case names).
"""

from __future__ import annotations

import fnmatch

__all__ = ["PROJECT_ENV_SET_FORBIDDEN", "forbidden_reason"]

PROJECT_ENV_SET_FORBIDDEN: tuple[tuple[str, str], ...] = (
    # Which program runs.
    ("PATH", "where every program is looked up"),
    ("HOME", "where start-up files and per-user configuration are read"),
    ("SHELL", "the shell that tools start"),
    ("EDITOR", "a program git and others run"),
    ("VISUAL", "a program git and others run"),
    ("PAGER", "a program git, man and others run"),
    ("MANPAGER", "a program man runs"),
    ("BROWSER", "a program tools open links with"),
    ("*ASKPASS", "a program ssh, sudo and git run for a password"),
    # Shell start-up and prompts, which shells evaluate.
    ("ENV", "a file sh and bash read at start"),
    ("BASH_ENV", "a file bash reads at start"),
    ("ZDOTDIR", "where zsh reads its start-up files"),
    ("SHELLOPTS", "bash options (xtrace with PS4 runs code)"),
    ("BASHOPTS", "bash options"),
    ("PROMPT_COMMAND", "code bash runs before each prompt"),
    ("PS?", "prompts bash expands, command substitution included"),
    ("CDPATH", "where cd in a script lands"),
    ("INPUTRC", "readline configuration, which can bind keys to commands"),
    ("XDG_*", "where configuration, data and caches (git's too) are read"),
    # The dynamic loader and the C library.
    ("LD_*", "libraries loaded into every program"),
    ("GCONV_PATH", "iconv modules loaded as shared libraries"),
    ("GETCONF_DIR", "programs getconf executes"),
    ("GLIBC_TUNABLES", "C library tunables, parsed by the loader"),
    ("MALLOC_*", "C library allocator settings"),
    ("LOCPATH", "locale files the C library parses"),
    ("NLSPATH", "message catalogs the C library opens"),
    ("HOSTALIASES", "host names resolved to others"),
    ("LOCALDOMAIN", "the domain names are resolved in"),
    ("RES_OPTIONS", "resolver options"),
    ("OPENSSL_*", "OpenSSL configuration, engines and modules loaded"),
    ("GTK_MODULES", "modules loaded into GTK programs"),
    ("GTK_PATH", "where GTK loads modules from"),
    ("QT_PLUGIN_PATH", "where Qt loads plugins from"),
    ("GIO_MODULE_DIR", "where GIO loads modules from"),
    # Interpreters and their start-up code.
    ("PYTHON*", "Python's start-up file, import path and flags"),
    ("PYTEST_ADDOPTS", "pytest options (-p loads a plugin)"),
    ("PYTEST_PLUGINS", "modules pytest imports"),
    ("NODE_*", "node options (--require) and module path"),
    ("PERL*", "perl's options (-M) and library path"),
    ("RUBY*", "ruby's options (-r) and library path"),
    ("LUA_*", "Lua's start-up code and module path"),
    ("PHPRC", "the php.ini that can prepend code"),
    ("PHP_INI_SCAN_DIR", "more php.ini files"),
    ("JAVA_TOOL_OPTIONS", "JVM options (-javaagent loads code)"),
    ("_JAVA_OPTIONS", "JVM options (-javaagent loads code)"),
    ("JDK_JAVA_OPTIONS", "java launcher options"),
    ("JAVA_HOME", "which java runs"),
    ("CLASSPATH", "where the JVM loads classes from"),
    ("DOTNET_*", ".NET start-up hooks and settings"),
    ("CORECLR_*", ".NET profilers loaded into the runtime"),
    ("ERL_*", "Erlang flags (-eval)"),
    ("LESS*", "less options (+!command) and its input pre-processor"),
    # Build tools, which run what these name.
    ("CC", "the C compiler build tools run"),
    ("CXX", "the C++ compiler build tools run"),
    ("CPP", "the preprocessor build tools run"),
    ("LD", "the linker build tools run"),
    ("AR", "the archiver build tools run"),
    ("AS", "the assembler build tools run"),
    ("*FLAGS", "compiler, linker and tool flags (-fplugin, -wrapper, -toolexec)"),
    ("MAKEFILES", "makefiles make reads first"),
    ("GCC_EXEC_PREFIX", "where gcc finds its own programs"),
    ("COMPILER_PATH", "where gcc finds its own programs"),
    ("CCACHE_*", "ccache settings (CCACHE_PREFIX runs a program)"),
    ("PKG_CONFIG*", "where build flags come from"),
    ("CMAKE_*", "CMake toolchain files and settings"),
    ("GIT_*", "git's repository, configuration and programs"),
    # Package managers: where packages come from and what they run.
    ("PIP_*", "pip's index, configuration and options"),
    ("UV_*", "uv's index and interpreter"),
    ("POETRY_*", "Poetry's repositories and settings"),
    ("PDM_*", "PDM's index and settings"),
    ("PIPX_*", "pipx's index and settings"),
    ("CONDA*", "conda's configuration and environment"),
    ("VIRTUAL_ENV", "the environment tools install into and run from"),
    ("NPM_CONFIG_*", "npm's registry, script shell and node options"),
    ("YARN_*", "yarn's registry and settings"),
    ("PNPM_*", "pnpm's settings"),
    ("COREPACK_*", "which package manager corepack fetches and runs"),
    ("BUNDLE_*", "bundler's Gemfile and sources"),
    ("GEM_*", "where rubygems loads gems from"),
    ("CARGO_*", "cargo's home, registries, wrappers and runners"),
    ("RUST*", "which rustc and toolchain run, and their flags"),
    ("GOROOT", "which Go toolchain runs"),
    ("GOPATH", "where Go modules are read from"),
    ("GOTOOLCHAIN", "which Go toolchain is fetched and run"),
    ("GOPROXY", "where Go modules come from"),
    ("GONOPROXY", "which Go modules skip the proxy"),
    ("GOSUMDB", "how Go modules are verified"),
    ("GONOSUMDB", "which Go modules skip verification"),
    ("GONOSUMCHECK", "which Go modules skip verification"),
    ("GOPRIVATE", "which Go modules skip proxy and verification"),
    ("GOINSECURE", "which Go modules are fetched without TLS"),
    ("GOENV", "the file Go reads its settings from"),
    ("GOCACHEPROG", "a program the go command runs"),
    ("MAVEN_*", "Maven options"),
    ("GRADLE_*", "Gradle options and user home (init scripts)"),
    # Where connections go and whom they trust.
    ("*_PROXY", "the proxy traffic (and credentials) is sent through"),
    ("SSL_CERT_*", "the certificates TLS trusts"),
    ("*_CA_BUNDLE", "the certificates TLS trusts"),
    ("CURL_HOME", "curl's configuration file"),
    ("WGETRC", "wget's configuration file"),
)
"""Each pattern with the reason a project may not set what it matches."""


def forbidden_reason(name: str) -> str | None:
    """Return why a project policy may not set `name`, or None when it may."""
    upper = name.upper()
    for pattern, reason in PROJECT_ENV_SET_FORBIDDEN:
        if fnmatch.fnmatchcase(upper, pattern):
            return reason
    return None
