"""git configuration that a ``-c`` may set without making git run anything.

Anything else (``core.pager``, ``alias.*``, ``diff.*.command``, ``include.path``,
``credential.helper``, and every key corral does not know) can name a program
or a file of more configuration, so setting it is an ``exec-override``.
"""

from __future__ import annotations

from corral.approvals._model import Word

__all__ = ["config_runs_programs"]

# Configuration that names no program and points git at nothing it would run:
# identity, colours, formats, merge and diff algorithms, performance knobs.
_HARMLESS_CONFIG = frozenset(
    [
        "user.name",
        "user.email",
        "user.useconfigonly",
        "author.name",
        "author.email",
        "committer.name",
        "committer.email",
        "core.quotepath",
        "core.autocrlf",
        "core.safecrlf",
        "core.filemode",
        "core.ignorecase",
        "core.precomposeunicode",
        "core.abbrev",
        "core.longpaths",
        "core.eol",
        "core.whitespace",
        "core.commentchar",
        "core.commentstring",
        "core.preloadindex",
        "core.untrackedcache",
        "core.fscache",
        "core.multipackindex",
        "core.commitgraph",
        "core.splitindex",
        "core.checkstat",
        "core.trustctime",
        "core.bigfilethreshold",
        "core.compression",
        "core.deltabasecachelimit",
        "init.defaultbranch",
        "commit.gpgsign",
        "tag.gpgsign",
        "commit.verbose",
        "commit.status",
        "commit.cleanup",
        "log.decorate",
        "log.date",
        "log.abbrevcommit",
        "log.follow",
        "log.mailmap",
        "log.showroot",
        "format.pretty",
        "format.signoff",
        "diff.renames",
        "diff.algorithm",
        "diff.context",
        "diff.noprefix",
        "diff.mnemonicprefix",
        "diff.relative",
        "diff.statgraphwidth",
        "diff.colormoved",
        "diff.indentheuristic",
        "diff.submodule",
        "diff.ignoresubmodules",
        "diff.suppressblankempty",
        "diff.wserrorhighlight",
        "diff.renamelimit",
        "merge.conflictstyle",
        "merge.ff",
        "merge.log",
        "merge.renames",
        "merge.stat",
        "merge.autostash",
        "pull.rebase",
        "pull.ff",
        "push.default",
        "push.autosetupremote",
        "push.followtags",
        "fetch.prune",
        "fetch.prunetags",
        "fetch.parallel",
        "fetch.writecommitgraph",
        "rebase.autosquash",
        "rebase.autostash",
        "rebase.stat",
        "rebase.updaterefs",
        "rebase.abbreviatecommands",
        "rebase.missingcommitscheck",
        "status.short",
        "status.branch",
        "status.showuntrackedfiles",
        "status.submodulesummary",
        "status.relativepaths",
        "status.renames",
        "status.showstash",
        "i18n.commitencoding",
        "i18n.logoutputencoding",
        "maintenance.auto",
        "gc.auto",
        "gc.autodetach",
        "gc.autopacklimit",
        "protocol.version",
        "transfer.fsckobjects",
        "fetch.fsckobjects",
        "submodule.recurse",
        "submodule.fetchjobs",
        "grep.linenumber",
        "grep.extendedregexp",
        "grep.patterntype",
        "grep.fullname",
        "grep.column",
        "blame.date",
        "blame.coloring",
        "blame.showemail",
        "branch.sort",
        "tag.sort",
        "branch.autosetupmerge",
        "branch.autosetuprebase",
        "checkout.defaultremote",
        "checkout.workers",
        "clone.defaultremotename",
        "feature.manyfiles",
        "index.version",
        "index.threads",
        "pack.threads",
        "column.ui",
    ]
)
# Sections whose every key only changes how output looks.
_HARMLESS_SECTIONS = ("color.", "advice.")
# pager.<command> = true/false only turns the pager on or off.
_BOOLEANS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0", ""})


def config_runs_programs(setting: Word) -> bool:
    """Tell whether a ``-c name=value`` setting can make git run a program."""
    if not setting.is_literal:
        return True
    name, _, value = setting.text.partition("=")
    name = name.lower()
    if name in _HARMLESS_CONFIG or name.startswith(_HARMLESS_SECTIONS):
        return False
    return not (name.startswith("pager.") and value.lower() in _BOOLEANS)
