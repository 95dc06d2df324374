"""Built-in defaults: what corral protects, hides and passes with no policy file.

These are the values a careful security team would sign without edits.  Each
list only ever grows through policy layers; no layer can remove an entry.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_AUDIT_ROTATE_BYTES",
    "DEFAULT_ENV_PASS",
    "DEFAULT_EXPORT_TIMEOUT",
    "DEFAULT_HIDDEN_PATHS",
    "DEFAULT_PROTECTED_PATHS",
    "DEFAULT_SECRET_PATTERNS",
]

# Read later by a tool outside the sandbox as instructions or code, so a
# command must never write them.  A trailing "/" marks a directory; it decides
# the kind of placeholder used when the path does not exist yet.
DEFAULT_PROTECTED_PATHS: tuple[str, ...] = (
    ".git/",
    ".corral/",
    ".agents/",
    ".codex/",
    ".claude/",
    ".mcp.json",
    ".vscode/",
    ".idea/",
    ".envrc",
)

# Credential stores under the home directory.  corral's own state directory is
# hidden as well, but is added by the sandbox, since its location is resolved
# at run time.
DEFAULT_HIDDEN_PATHS: tuple[str, ...] = (
    "~/.ssh",
    "~/.gnupg",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.oci",
    "~/.kube",
    "~/.docker",
    "~/.config/containers/auth.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.config/git/credentials",
    "~/.config/gh",
    "~/.config/hub",
    "~/.npmrc",
    "~/.yarnrc.yml",
    "~/.pypirc",
    "~/.config/pip/pip.conf",
    "~/.pip/pip.conf",
    "~/.cargo/credentials",
    "~/.cargo/credentials.toml",
    "~/.gem/credentials",
    "~/.m2/settings.xml",
    "~/.gradle/gradle.properties",
    "~/.terraform.d/credentials.tfrc.json",
    "~/.vault-token",
    "~/.password-store",
    "~/.local/share/keyrings",
    "~/.config/op",
    "~/.config/doctl",
)

# Host variables that a build or test needs and that carry no credentials.
# Everything else is dropped; secrets are dropped even when listed here.
DEFAULT_ENV_PASS: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "EDITOR",
    "VISUAL",
    "CI",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "PYTHONPATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "GOPATH",
    "GOFLAGS",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "JAVA_HOME",
    "NODE_ENV",
)

# Names that look like credentials.  Matched case-insensitively.
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    "*KEY*",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*_AUTH",
    "*_AUTH_*",
    "*SESSION*",
    "*COOKIE*",
    "*PRIVATE*",
)

# The event log's current file is rotated at this size: tens of thousands of
# records, few enough to verify in a second and ship in one piece.
DEFAULT_AUDIT_ROTATE_BYTES = 32 << 20

# Seconds for one request to the collector: a loopback collector answers in
# milliseconds, a remote one in well under this.
DEFAULT_EXPORT_TIMEOUT = 10.0
