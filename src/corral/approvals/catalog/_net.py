"""Network tools, cloud and cluster CLIs, containers, and secret stores.

Anything that talks to another host is ``network``; options that make such a
tool run a local program (``ssh -o ProxyCommand``, ``rsync -e``) are
``exec-override``; password managers, key agents and the commands that print
credentials are ``secret``; container daemons are root-equivalent, a
``privilege``.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Sink,
    Table,
    entry,
    name_of,
    names,
    parse_options,
    spec,
)

__all__ = ["NETWORK_PROGRAMS"]

_NETWORK = Category.NETWORK
_SECRET = Category.SECRET
_READ = Category.READ

_CURL = spec(
    "-d --data --data-binary --data-raw --data-urlencode --data-ascii -F --form "
    "--form-string -H --header -u --user -A --user-agent -e --referer -X --request "
    "-o --output -T --upload-file -x --proxy -K --config -b --cookie -c "
    "--cookie-jar -D --dump-header -w --write-out -m --max-time --connect-timeout "
    "-r --range -C --continue-at -E --cert --key --cacert --capath --resolve "
    "--connect-to --interface -Y -y --retry --retry-delay --retry-max-time "
    "--limit-rate -z --time-cond --output-dir --trace --trace-ascii --stderr "
    "--etag-save --etag-compare --json --url --unix-socket --abstract-unix-socket "
    "--proto --proto-redir --max-redirs --max-filesize --netrc-file -Q --quote "
    "--mail-from --mail-rcpt --oauth2-bearer --variable --hsts --libcurl",
    "-n --netrc --netrc-optional",
)
_CURL_WRITES = (
    "-o",
    "--output",
    "-c",
    "--cookie-jar",
    "-D",
    "--dump-header",
    "--output-dir",
    "--trace",
    "--trace-ascii",
    "--stderr",
    "--etag-save",
    "--hsts",
    "--libcurl",
)


def _curl(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], _CURL)
    if parsed.has("-n", "--netrc", "--netrc-optional"):
        sink.emit(argv, _SECRET, "curl --netrc sends the credentials in ~/.netrc")
    for target in parsed.values(*_CURL_WRITES):
        if target.text != "-":
            sink.write(argv, target)
    sink.emit(argv, _NETWORK, "curl transfers data over the network")


_WGET = spec(
    "-O --output-document -P --directory-prefix -o --output-file -a --append-output "
    "-i --input-file --post-file --post-data --body-file -e --execute -U "
    "--user-agent --header -t --tries -T --timeout -w --wait --user --password "
    "--load-cookies --save-cookies -Q --quota -l --level"
)


def _wget(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], _WGET)
    for target in parsed.values(
        "-o", "--output-file", "-a", "--append-output", "--save-cookies"
    ):
        sink.write(argv, target)
    documents = [w for w in parsed.values("-O", "--output-document") if w.text != "-"]
    for target in documents:
        sink.write(argv, target)
    if not parsed.values("-O", "--output-document"):
        places = parsed.values("-P", "--directory-prefix") or [Word(".")]
        sink.write(argv, places[-1], verb="downloads into")
    sink.emit(argv, _NETWORK, f"{name_of(argv[0])} downloads over the network")


# ssh_config keywords whose value is a command ssh runs on this machine, or a
# library it loads into itself or a helper.
_SSH_LOCAL_COMMANDS = frozenset(
    {
        "proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand",
        "match", "pkcs11provider", "securitykeyprovider",
    }
)  # fmt: skip
# Where ssh ends a config keyword: white space, '=' or a quote.
_SSH_KEYWORD_END = frozenset(' \t\r\n="')
_SSH = spec("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B -P")


def _ssh_options(
    sink: Sink, argv: Argv, values: Sequence[Word], configs: Sequence[Word]
) -> None:
    name = name_of(argv[0])
    for option in values:
        key = _ssh_keyword(option.text) if option.is_literal else None
        if key is None or key in _SSH_LOCAL_COMMANDS:
            sink.emit(
                argv,
                Category.EXEC_OVERRIDE,
                f"{name} -o {option.text} can run a local command",
            )
    for config in configs:
        sink.emit(
            argv,
            Category.EXEC_OVERRIDE,
            f"{name} -F {config.text} reads a config that can name local commands",
        )


def _ssh_keyword(line: str) -> str | None:
    """The keyword of one ssh_config line as ssh reads it, in lower case.

    ssh skips leading blanks and takes a keyword in double quotes whole, so
    ``"ProxyCommand"=x`` is ProxyCommand.  None when ssh could not read one
    (an open quote, a keyword that is not ASCII): not known to be harmless.
    """
    text = line.lstrip(" \t\r\n")
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return None
        key = text[1:end]
    else:
        end = next((i for i, c in enumerate(text) if c in _SSH_KEYWORD_END), len(text))
        key = text[:end]
    return key.lower() if key.isascii() else None


def _ssh(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], _SSH)
    _ssh_options(sink, argv, parsed.values("-o"), parsed.values("-F"))
    for target in parsed.values("-E"):
        sink.write(argv, target)
    sink.emit(argv, _NETWORK, f"{name_of(argv[0])} connects to another host")


def _rsh_words(text: str) -> list[str] | None:
    """Split an rsync ``-e`` command as rsync does; None for an open quote.

    rsync splits at spaces only (not tabs); single or double quotes keep
    spaces in a word and are removed, a doubled quote inside them is one.
    """
    words: list[str] = []
    word: list[str] | None = None
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        if not quote and char == " ":
            if word is not None:
                words.append("".join(word))
                word = None
            continue
        word = [] if word is None else word
        if char in "'\"" and not quote:
            quote = char
        elif char == quote and text[i : i + 1] == quote:
            word.append(char)
            i += 1
        elif char == quote:
            quote = ""
        else:
            word.append(char)
    if quote:
        return None
    if word is not None:
        words.append("".join(word))
    return words


def _is_remote(word: Word) -> bool:
    head = word.text.split("/", 1)[0]
    return ":" in head or word.text.startswith(("rsync://", "scp://", "sftp://"))


def _scp(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], _SSH)
    _ssh_options(sink, argv, parsed.values("-o"), parsed.values("-F"))
    for program in parsed.values("-S"):
        sink.emit(
            argv, Category.EXEC_OVERRIDE, f"scp -S runs {program.text} to connect"
        )
    operands = parsed.operands
    if len(operands) > 1 and not _is_remote(operands[-1]):
        sink.write(argv, operands[-1])
    sink.emit(argv, _NETWORK, "scp copies files to or from another host")


_RSYNC = spec(
    "-e --rsh --rsync-path -f --filter --exclude --include --exclude-from "
    "--include-from --files-from -T --temp-dir --compare-dest --copy-dest "
    "--link-dest --log-file --partial-dir --backup-dir --suffix --chmod --chown "
    "--port --password-file --bwlimit --timeout -B --block-size --max-size --min-size"
)


def _rsync(sink: Sink, argv: Argv) -> None:
    """rsync: a network copy when an operand names a host, else a local copy."""
    parsed = parse_options(argv[1:], _RSYNC)
    operands = parsed.operands
    remote = any(_is_remote(w) for w in operands)
    for shell in parsed.values("-e", "--rsh"):
        words = _rsh_words(shell.text) if shell.is_literal else None
        if not words or words[0] != "ssh":
            sink.emit(
                argv,
                Category.EXEC_OVERRIDE,
                f"rsync -e runs {shell.text} to reach the remote",
            )
        else:
            ssh = tuple(Word(word) for word in words)
            options = parse_options(ssh[1:], _SSH)
            _ssh_options(sink, ssh, options.values("-o"), options.values("-F"))
    deletes = any(name.startswith("--delete") for name, _ in parsed.options)
    if len(operands) > 1 and not _is_remote(operands[-1]):
        sink.write(argv, operands[-1], verb="copies into", recursive=deletes)
    if parsed.has("--remove-source-files"):
        for source in operands[:-1]:
            if not _is_remote(source):
                sink.write(argv, source, verb="removes")
    for target in parsed.values("--log-file"):
        sink.write(argv, target)
    if remote:
        sink.emit(argv, _NETWORK, "rsync copies files to or from another host")
    else:
        sink.emit(argv, Category.EDIT, "rsync copies files")


def _netcat(sink: Sink, argv: Argv) -> None:
    """nc, ncat: a connection, and with ``-e``/``-c`` a command attached to it."""
    texts = [w.text for w in argv]
    for flag in ("-e", "--exec"):
        if flag in texts[1:-1]:
            sink.command((argv[texts.index(flag) + 1],))
    for flag in ("-c", "--sh-exec", "--lua-exec"):
        if flag in texts[1:-1]:
            sink.shell(argv, argv[texts.index(flag) + 1], dialect="sh")
    sink.emit(argv, _NETWORK, f"{name_of(argv[0])} opens network connections")


def _socat(sink: Sink, argv: Argv) -> None:
    for word in argv[1:]:
        kind, _, rest = word.text.partition(":")
        if kind.upper() in ("EXEC", "SYSTEM") and rest:
            sink.shell(argv, Word(rest.split(",", 1)[0], word.kind), dialect="sh")
    sink.emit(argv, _NETWORK, "socat relays data between addresses")


def _openssl(sink: Sink, argv: Argv) -> None:
    command = argv[1].text if len(argv) > 1 else ""
    texts = [w.text for w in argv]
    if "-out" in texts[:-1]:
        sink.write(argv, argv[texts.index("-out") + 1])
    if command in ("s_client", "s_server", "s_time", "ocsp"):
        sink.emit(argv, _NETWORK, f"openssl {command} opens network connections")
    else:
        sink.emit(
            argv,
            _READ,
            f"openssl {command} works on keys or certificates".replace("  ", " "),
        )


def _keygen(sink: Sink, argv: Argv) -> None:
    """ssh-keygen: a key written where ``-f`` says; by default, into ~/.ssh."""
    parsed = parse_options(
        argv[1:], spec("-f -t -b -C -N -P -I -n -V -z -Y -O -E -a -m -s -w -Z -r")
    )
    files = parsed.values("-f")
    for target in files:
        sink.write(argv, target)
    if not files:
        sink.emit(argv, _SECRET, "ssh-keygen reads or writes the keys in ~/.ssh")


def _cli(
    what: str,
    secrets: Sequence[str] = (),
    *,
    reads: Sequence[str] = (),
    category: Category = _NETWORK,
) -> Handler:
    """A cloud or cluster CLI: `category`, unless its words name a command that
    prints or stores credentials (`secrets`) or only reads locally (`reads`)."""
    secret_words = [tuple(s.split()) for s in secrets]
    read_words = [tuple(r.split()) for r in reads]

    def handle(sink: Sink, argv: Argv) -> None:
        words = tuple(w.text for w in argv[1:] if not w.text.startswith("-"))
        flags = {w.text for w in argv[1:] if w.text.startswith("-")}
        for sequence in secret_words:
            if _contains(words, flags, sequence):
                sink.emit(
                    argv,
                    _SECRET,
                    f"{name_of(argv[0])} {' '.join(sequence)} handles credentials",
                )
                return
        for sequence in read_words:
            if _contains(words, flags, sequence):
                sink.emit(
                    argv,
                    _READ,
                    f"{name_of(argv[0])} {' '.join(sequence)} prints local information",
                )
                return
        sink.emit(argv, category, f"{name_of(argv[0])} {what}")

    return handle


def _contains(
    words: tuple[str, ...], flags: set[str], sequence: tuple[str, ...]
) -> bool:
    wanted = [part for part in sequence if not part.startswith("-")]
    needed = {part for part in sequence if part.startswith("-")}
    if not needed <= flags:
        return False
    return (
        any(words[i : i + len(wanted)] == tuple(wanted) for i in range(len(words)))
        if wanted
        else True
    )


_CLOUD = "talks to a cloud provider's API"
_CONTAINERS = "talks to the container daemon, which is root-equivalent"

_SECRET_STORES = names(
    "gpg gpg2 gpgsm gpg-agent gpgconf pass gopass op bw lpass vault security "
    "keyring secret-tool kwallet-query aws-vault sops chamber doppler infisical "
    "ssh-add ssh-agent pinentry keychain git-credential-store git-credential-cache "
    "git-credential-libsecret git-credential-manager ksshaskpass"
)

_NETWORK_TOOLS = names(
    "telnet ftp lftp tftp ping ping6 traceroute tracepath mtr dig nslookup host "
    "whois nmap ssh-keyscan websocat grpcurl mosh http https xh httpie aria2c axel "
    "wget2 curlie sshpass autossh ssh-copy-id sftp ngrok cloudflared tailscale "
    "wscat arp arping"
)

NETWORK_PROGRAMS: Table = {
    "curl": _curl,
    "wget": _wget,
    "ssh": _ssh,
    "scp": _scp,
    "rsync": _rsync,
    "nc": _netcat,
    "ncat": _netcat,
    "netcat": _netcat,
    "socat": _socat,
    "openssl": _openssl,
    "ssh-keygen": _keygen,
    **dict.fromkeys(_NETWORK_TOOLS, entry(_NETWORK, "talks to other hosts")),
    **dict.fromkeys(_SECRET_STORES, entry(_SECRET, "reads or writes secrets or keys")),
    "age": entry(_READ, "encrypts or decrypts files"),
    "gh": _cli(
        "talks to GitHub",
        (
            "auth token",
            "auth login",
            "auth logout",
            "auth refresh",
            "auth setup-git",
            "auth switch",
            "auth status -t",
            "auth status --show-token",
            "secret",
            "config set",
            "ssh-key",
            "gpg-key",
        ),
        reads=("--version", "help", "completion"),
    ),
    "glab": _cli("talks to GitLab", ("auth", "config set")),
    "hub": _cli("talks to GitHub"),
    "tea": _cli("talks to Gitea", ("login",)),
    "aws": _cli(
        _CLOUD,
        (
            "configure",
            "sts get-session-token",
            "ecr get-login-password",
            "secretsmanager get-secret-value",
            "ssm get-parameter --with-decryption",
            "sso login",
            "login",
        ),
    ),
    "gcloud": _cli(
        _CLOUD,
        (
            "auth",
            "secrets versions access",
            "config set",
            "iam service-accounts keys create",
        ),
        reads=("config list", "info", "version"),
    ),
    "gsutil": _cli(_CLOUD),
    "az": _cli(
        _CLOUD,
        (
            "login",
            "account get-access-token",
            "keyvault secret show",
            "keyvault secret download",
        ),
    ),
    "doctl": _cli(_CLOUD, ("auth",)),
    "flyctl": _cli(_CLOUD, ("auth", "secrets")),
    "fly": _cli(_CLOUD, ("auth", "secrets")),
    "heroku": _cli(_CLOUD, ("auth", "login", "config")),
    "vercel": _cli(_CLOUD, ("login", "env pull", "env ls")),
    "netlify": _cli(_CLOUD, ("login", "env")),
    "firebase": _cli(_CLOUD, ("login",)),
    "wrangler": _cli(_CLOUD, ("login", "secret")),
    "oci": _cli(_CLOUD, ("setup",)),
    "kubectl": _cli(
        "talks to a Kubernetes cluster",
        (
            "config view --raw",
            "config set",
            "config set-credentials",
            "get secret",
            "get secrets",
            "describe secret",
            "create token",
        ),
        reads=("version --client", "explain", "completion", "kustomize"),
    ),
    "oc": _cli("talks to an OpenShift cluster", ("whoami -t", "get secret", "login")),
    "k9s": _cli("talks to a Kubernetes cluster"),
    "helm": _cli(
        "talks to a Kubernetes cluster and chart repositories",
        reads=("template", "lint", "version", "show"),
    ),
    "kustomize": entry(_READ, "renders Kubernetes manifests"),
    "minikube": _cli(
        "runs a local Kubernetes cluster in a VM or containers",
        category=Category.PRIVILEGE,
    ),
    "kind": _cli("runs Kubernetes in containers", category=Category.PRIVILEGE),
    "k3d": _cli("runs Kubernetes in containers", category=Category.PRIVILEGE),
    "eksctl": _cli(_CLOUD),
    "terraform": _cli(
        "plans or changes infrastructure through providers' APIs",
        reads=("fmt", "validate", "version", "show", "output", "graph", "providers"),
    ),
    "tofu": _cli(
        "plans or changes infrastructure through providers' APIs",
        reads=("fmt", "validate", "version", "show", "output", "graph", "providers"),
    ),
    "terragrunt": _cli("plans or changes infrastructure through providers' APIs"),
    "pulumi": _cli(
        "plans or changes infrastructure through providers' APIs",
        ("login", "config get --show-secrets"),
    ),
    "ansible": _cli("runs tasks on other hosts"),
    "ansible-playbook": _cli("runs tasks on other hosts"),
    "vagrant": _cli("manages virtual machines"),
    "packer": _cli("builds machine images through providers' APIs"),
    "skopeo": _cli("talks to container registries", ("login",)),
    "crane": _cli("talks to container registries", ("auth",)),
    "docker": _cli(_CONTAINERS, ("login", "logout"), category=Category.PRIVILEGE),
    "docker-compose": _cli(_CONTAINERS, category=Category.PRIVILEGE),
    "podman": _cli(
        "runs containers, which needs new namespaces",
        ("login", "logout"),
        category=Category.PRIVILEGE,
    ),
    "podman-compose": _cli(
        "runs containers, which needs new namespaces", category=Category.PRIVILEGE
    ),
    "nerdctl": _cli(_CONTAINERS, ("login",), category=Category.PRIVILEGE),
    "buildah": _cli(
        "builds containers, which needs new namespaces", category=Category.PRIVILEGE
    ),
    "ctr": _cli(_CONTAINERS, category=Category.PRIVILEGE),
    "lima": _cli("runs virtual machines", category=Category.PRIVILEGE),
    "colima": _cli("runs virtual machines", category=Category.PRIVILEGE),
}
"""Network tools, cloud and cluster CLIs, containers and secret stores, by name."""
