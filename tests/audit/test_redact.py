"""Secrets are masked in event fields; ordinary words, paths and digests are not."""

from __future__ import annotations

import hashlib
import random
import shlex
import string
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.audit.redact import MASK, Redactor
from corral.audit.redact._text import (
    _RULES,
    _combined,
    _rules_in,
    _secret_groups,
    _substitute,
)

DEFAULTS = Redactor()

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

MASKED = [
    # Passwords and tokens in URLs.
    (
        "git clone https://alice:hunter2@git.example.test/org/repo.git",
        "git clone https://alice:[redacted]@git.example.test/org/repo.git",
    ),
    (
        f"git push https://{GITHUB}@github.example.test/org/repo",
        "git push https://[redacted]@github.example.test/org/repo",
    ),
    (
        f"https://x-access-token:{GITHUB}@github.example.test/o/r",
        "https://x-access-token:[redacted]@github.example.test/o/r",
    ),
    (
        f"https://{GITHUB}:x-oauth-basic@github.example.test/o/r",
        "https://[redacted]:[redacted]@github.example.test/o/r",
    ),
    (
        "postgres://app:p@ss:w0rd@db.internal:5432/app",
        "postgres://app:[redacted]@db.internal:5432/app",
    ),
    ("redis://:topsecret@cache:6379/0", "redis://:[redacted]@cache:6379/0"),
    (
        "pip install --index-url https://__token__:pypi-secret@pkgs.test/simple x",
        "pip install --index-url https://__token__:[redacted]@pkgs.test/simple x",
    ),
    # Query parameters named like secrets.
    (
        "curl 'https://api.test/v1/items?access_token=abc123&page=2'",
        "curl 'https://api.test/v1/items?access_token=[redacted]&page=2'",
    ),
    (
        "https://bucket.s3.test/k?X-Amz-Credential=AKIA%2F20240101&"
        "X-Amz-Signature=0a1b2c3d&X-Amz-Expires=300",
        "https://bucket.s3.test/k?X-Amz-Credential=[redacted]&"
        "X-Amz-Signature=[redacted]&X-Amz-Expires=300",
    ),
    (
        "https://maps.test/api?key=AbCdEf123&q=x",
        "https://maps.test/api?key=[redacted]&q=x",
    ),
    ("/blob?sv=2024&sig=Zm9vYmFy%3D&se=1", "/blob?sv=2024&sig=[redacted]&se=1"),
    (
        "https://x.test/?api_key=1&password=2",
        "https://x.test/?api_key=[redacted]&password=[redacted]",
    ),
    # Options.
    (
        "mysql --password=hunter2 --user=root app",
        "mysql --password=[redacted] --user=root app",
    ),
    ("vault login --token s.AbCdEf0123", "vault login --token [redacted]"),
    (
        "tool --api-key=k1 --secret 's p a c e'",
        "tool --api-key=[redacted] --secret '[redacted]'",
    ),
    (
        'deploy --db-password "pw" --github-token=t',
        'deploy --db-password "[redacted]" --github-token=[redacted]',
    ),
    ("http --auth alice:pw GET x", "http --auth [redacted] GET x"),
    ("keytool -list -storepass changeit", "keytool -list -storepass [redacted]"),
    (
        "openssl rsa -passin pass:hunter2 -in k",
        "openssl rsa -passin pass:[redacted] -in k",
    ),
    ("curl -u alice:hunter2 https://x.test", "curl -u alice:[redacted] https://x.test"),
    ("curl --user=bob:pw https://x.test", "curl --user=bob:[redacted] https://x.test"),
    # Headers.
    (
        "curl -H 'Authorization: Bearer abc.def.ghi' https://x.test",
        "curl -H 'Authorization: Bearer [redacted]' https://x.test",
    ),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"),
    ("authorization: token 0123abcd", "authorization: token [redacted]"),
    (
        "Authorization: AWS4-HMAC-SHA256 Credential=x/y, Signature=abc",
        "Authorization: [redacted]",
    ),
    ("Proxy-Authorization: Basic Zm9v", "Proxy-Authorization: Basic [redacted]"),
    ('-H "X-Api-Key: k3y-value"', '-H "X-Api-Key: [redacted]"'),
    ("PRIVATE-TOKEN: glpat", "PRIVATE-TOKEN: [redacted]"),
    ("Cookie: session=abc; theme=dark", "Cookie: [redacted]"),
    ("-H 'Set-Cookie: id=1; Path=/' -v", "-H 'Set-Cookie: [redacted]' -v"),
    ("got a Bearer abcdefgh1234 back", "got a Bearer [redacted] back"),
    # Structured text: JSON, YAML, Python reprs.
    (
        '{"password": "hunter2", "user": "bob", "client_secret":"xyz"}',
        '{"password": "[redacted]", "user": "bob", "client_secret":"[redacted]"}',
    ),
    ("{'api_key': 'k', 'n': 1}", "{'api_key': '[redacted]', 'n': 1}"),
    ("github_token: ghx123\nname: ci", "github_token: [redacted]\nname: ci"),
    # Assignments whose name looks secret.
    (
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "export AWS_SECRET_ACCESS_KEY=[redacted]",
    ),
    ("GITHUB_TOKEN=abc DEBUG=1 make", "GITHUB_TOKEN=[redacted] DEBUG=1 make"),
    ("DB_PASSWORD='x y' ./run", "DB_PASSWORD='[redacted]' ./run"),
    (
        "NPM_AUTH=a1 SESSION_ID=s1 COOKIE_JAR=c1",
        "NPM_AUTH=[redacted] SESSION_ID=[redacted] COOKIE_JAR=[redacted]",
    ),
    ("docker run -e API_KEY=k img", "docker run -e API_KEY=[redacted] img"),
    (
        "java -Djavax.net.ssl.keyStorePassword=changeit -jar a.jar",
        "java -Djavax.net.ssl.keyStorePassword=[redacted] -jar a.jar",
    ),
    ("//registry.test/:_authToken=abc123", "//registry.test/:_authToken=[redacted]"),
    (
        "kubectl create secret generic s --from-literal=password=pw",
        "kubectl create secret generic s --from-literal=password=[redacted]",
    ),
    # Token shapes, wherever they appear.
    (f"echo {GITHUB}", "echo [redacted]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[redacted]"),
    ("token glpat-AbCdEfGhIj0123456789 ok", "token [redacted] ok"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIj", "[redacted]"),
    (f"id {AWS_KEY_ID} and ASIAIOSFODNN7EXAMPL2", "id [redacted] and [redacted]"),
    ("OPENAI sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "OPENAI [redacted]"),
    ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123", "[redacted]"),
    ("stripe sk_live_AbCdEfGhIjKlMnOp1234", "stripe [redacted]"),
    ("npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "[redacted]"),
    ("pypi-AgEIcHlwaS5vcmcCJDFmYWJjZGVmLTAxMjMtNDU2Ny04OWFi", "[redacted]"),
    ("key AIzaSyA-AbCdEfGhIjKlMnOpQrStUvWxYz01234 here", "key [redacted] here"),
    (f"jwt={JWT}", "jwt=[redacted]"),
    (f"echo {JWT} | base64", "echo [redacted] | base64"),
    # Private keys.
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n"
        "-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----",
    ),
    (
        "key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
        "key: -----BEGIN OPENSSH PRIVATE KEY-----[redacted]",
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n"
        "-----END PGP PRIVATE KEY BLOCK-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----[redacted]"
        "-----END PGP PRIVATE KEY BLOCK-----",
    ),
]

UNCHANGED = [
    "allow",
    "command.started",
    "/home/alice/src/project/token_store/keys.py",
    "git clone https://git.example.test/org/repo.git",
    "git clone ssh://git@git.example.test:22/org/repo.git",
    "git@git.example.test:org/repo.git",
    "https://deploy@git.example.test/org/repo",
    "git log --format=%H -n 5",
    "git commit -m 'fix the token refresh'",
    "python -m pytest -q tests/ -k 'not slow'",
    "make -j8 CC=gcc CFLAGS=-O2",
    "npm install @scope/pkg@1.2.3",
    "docker run -u 1000:1000 --rm img",
    "docker login --password-stdin --username bob",
    "gh auth login --with-token",
    "tool --no-password --verbose",
    "tool --token-file /etc/token --password-file ~/.pw",
    "GITHUB_TOKEN=$GITHUB_TOKEN make deploy",
    'curl -H "Authorization: Bearer ${TOKEN}" https://x.test',
    "vault login --token $VAULT_TOKEN",
    "PWD=/home/alice OLDPWD=/tmp HOME=/root",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "550e8400-e29b-41d4-a716-446655440000",
    "run 9f2c1a7b3d4e5f60 finished with status 0",
    "email alice@example.test about the passkey",
    "max_tokens: 100",
    "Enter password: ",
    "the bearer of bad news",
    "BEGIN PRIVATE KEY is what openssl prints",
    "sk-learn and task-runner-abcdefghijklmnopqrstu",
    "--sort-key name",
    f"{MASK} stays {MASK}",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_secrets_in_text_are_masked(text: str, expected: str) -> None:
    assert DEFAULTS.redact(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert DEFAULTS.redact(text) == text


def test_the_word_after_a_secret_option_in_an_argv_is_masked() -> None:
    argv = ["mysql", "--password", "hunter2", "--token", "--verbose", "-p", "x"]

    assert DEFAULTS.redact(argv) == [
        "mysql",
        "--password",
        MASK,
        "--token",
        "--verbose",
        "-p",
        "x",
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["curl", "-u", "alice:pw", "x"], ["curl", "-u", f"alice:{MASK}", "x"]),
        (["docker", "run", "-u", "1000:1000"], ["docker", "run", "-u", "1000:1000"]),
        (["vault", "--token", "$T"], ["vault", "--token", "$T"]),
        (["tool", "--api-key", ""], ["tool", "--api-key", ""]),
        (["-H", "Authorization: Bearer abc"], ["-H", f"Authorization: Bearer {MASK}"]),
    ],
)
def test_argv_words_are_masked_as_their_option_says(
    argv: list[str], expected: list[str]
) -> None:
    assert DEFAULTS.redact(argv) == expected


def test_nested_fields_are_rebuilt_with_keys_and_other_values_kept() -> None:
    fields = {
        "argv": ["curl", "-H", "Authorization: Bearer abc"],
        "parts": [{"argv": ("git", "push", f"https://{GITHUB}@h.test/r")}],
        "exit_status": 0,
        "timed_out": False,
        "duration": 1.5,
        "approval": None,
        "GITHUB_TOKEN": "plain",
    }

    redacted = DEFAULTS.redact(fields)

    assert redacted == {
        "argv": ["curl", "-H", f"Authorization: Bearer {MASK}"],
        "parts": [{"argv": ("git", "push", f"https://{MASK}@h.test/r")}],
        "exit_status": 0,
        "timed_out": False,
        "duration": 1.5,
        "approval": None,
        "GITHUB_TOKEN": "plain",
    }
    assert fields["argv"] == ["curl", "-H", "Authorization: Bearer abc"]


# The environment's secrets.


def test_values_of_secret_variables_are_masked_wherever_they_appear() -> None:
    redactor = Redactor(environ={"DEPLOY_TOKEN": "s3cr3t-v4lue", "HOME": "/root"})

    assert redactor.redact("curl -d s3cr3t-v4lue x; echo 's3cr3t-v4lue'") == (
        f"curl -d {MASK} x; echo '{MASK}'"
    )
    assert redactor.redact(["sh", "-c", "tool s3cr3t-v4lue"]) == [
        "sh",
        "-c",
        f"tool {MASK}",
    ]


def test_values_of_ordinary_variables_are_not_masked() -> None:
    redactor = Redactor(environ={"EDITOR": "vim-custom-build", "LANG": "C.UTF-8"})

    assert redactor.redact("vim-custom-build C.UTF-8") == "vim-custom-build C.UTF-8"


def test_short_secret_values_are_not_masked_everywhere() -> None:
    redactor = Redactor(environ={"API_KEY": "1234567", "USE_TOKEN": "true"})

    assert redactor.redact("run 1234567 true") == "run 1234567 true"


def test_a_secret_value_inside_a_longer_word_is_left_alone() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    redactor = Redactor(environ={"SIGNING_KEY": digest[10:30]})

    assert redactor.redact(f"sha256:{digest}") == f"sha256:{digest}"
    assert redactor.redact(f"key {digest[10:30]}.") == f"key {MASK}."


def test_corral_session_and_secret_named_places_are_not_masked() -> None:
    redactor = Redactor(
        environ={
            "CORRAL_SESSION": "a1b2c3d4e5f60718",
            "SSH_AUTH_SOCK": "/run/user/1000/ssh-agent.sock",
            "GOOGLE_APPLICATION_CREDENTIALS_FILE": "/etc/gcp/credentials.json",
        }
    )
    text = "a1b2c3d4e5f60718 /run/user/1000/ssh-agent.sock /etc/gcp/credentials.json"

    assert redactor.redact(text) == text


# A secret shaped like a path.

# Standard base64 keys that start with '/' and hold no '+', as about one AWS
# secret access key in 118 does: one component, two, and one of lower-case
# letters and digits only.
PATH_SHAPED_SECRETS = [
    "/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY1",
    "/wJalrXUtnFEMI/K7MDENGbPxRfiCYEXAMPLEKEY",
    "/wjalrxutnfemik7mdengbpxrficyexamplekey1",
]

# The places a command line gives a value a secret name.
SECRET_NAMED_FORMS = [
    "AWS_SECRET_ACCESS_KEY={} aws s3 ls",
    "export AWS_SECRET_ACCESS_KEY='{}'",
    "env AWS_SECRET_ACCESS_KEY={} aws s3 ls",
    "aws configure set aws_secret_access_key {}",
    "aws s3 ls --aws-secret-access-key {}",
    "tool --secret-key={}",
    "AWS_SECRET_ACCESS_KEY=${{AWS_SECRET_ACCESS_KEY:-{}}} aws s3 ls",
    "curl -H 'Authorization: Bearer {}' u",
]


def _shows(secret: str, redacted: object) -> bool:
    """Whether `redacted` still holds a piece of `secret` between its slashes."""
    return any(piece in str(redacted) for piece in secret.split("/") if piece)


@pytest.mark.parametrize("secret", PATH_SHAPED_SECRETS)
@pytest.mark.parametrize("form", SECRET_NAMED_FORMS)
def test_a_secret_shaped_like_a_path_is_masked_under_a_secret_name(
    form: str, secret: str
) -> None:
    """In one line, as an argv and inside sh -c."""
    line = form.format(secret)

    assert not _shows(secret, DEFAULTS.redact(line))
    assert not _shows(secret, DEFAULTS.redact(shlex.split(line)))
    assert not _shows(secret, DEFAULTS.redact(["sh", "-c", line]))


@pytest.mark.parametrize("secret", PATH_SHAPED_SECRETS)
@pytest.mark.parametrize(
    "form",
    [
        "aws_secret_access_key: {}",
        '{{"client_secret": "{}"}}',
        "{{'api_key': '{}'}}",
    ],
)
def test_a_secret_shaped_like_a_path_is_masked_under_a_secret_key(
    form: str, secret: str
) -> None:
    """In YAML, JSON and a Python repr."""
    assert not _shows(secret, DEFAULTS.redact(form.format(secret)))


@pytest.mark.parametrize("secret", PATH_SHAPED_SECRETS)
def test_a_secret_variables_value_shaped_like_a_path_is_masked_wherever_it_appears(
    secret: str,
) -> None:
    redactor = Redactor(environ={"AWS_SECRET_ACCESS_KEY": secret})

    assert redactor.redact(f"echo {secret}") == f"echo {MASK}"
    assert redactor.redact(["printf", "%s\n", secret]) == ["printf", "%s\n", MASK]


def test_no_random_base64_key_that_starts_with_a_slash_is_taken_for_a_path() -> None:
    """Keys drawn as a key generator draws them, '+' left out (it masks already)."""
    draw = random.Random(118)  # noqa: S311 - a fixed sample, not a secret
    alphabet = string.ascii_letters + string.digits + "/"
    for _ in range(2000):
        key = "/" + "".join(draw.choice(alphabet) for _ in range(39))
        redactor = Redactor(environ={"AWS_SECRET_ACCESS_KEY": key})

        assert redactor.redact(f"cat {key}") == f"cat {MASK}"
        assert DEFAULTS.redact(f"secret_key: {key}") == f"secret_key: {MASK}"


@pytest.mark.parametrize(
    "line",
    [
        "PWD=/home/alice make",
        "PWD=/Users/alice/src/X11 make",
        "kubectl create secret generic a --from-file=ssh-privatekey=/etc/keys/id",
        "api_key: ./keys/api.txt",
        "private_key: /srv/app/key",
        "tool --api-key ~/.config/tool/key",
        "tool --secret-key=/run/secrets/app-key",
        "GITHUB_TOKEN=$HOME/.config/gh/token make",
        "GITHUB_TOKEN=${XDG_CONFIG_HOME}/gh/token make",
        "SSL_KEY=/etc/ssl/private/app.key nginx",
        "AUTH=/srv",
    ],
)
def test_a_path_under_a_secret_name_is_kept_when_it_reads_as_one(line: str) -> None:
    """Several word-like components, a dot, a dash or a home or relative start."""
    assert DEFAULTS.redact(line) == line
    assert DEFAULTS.redact(shlex.split(line)) == shlex.split(line)


def test_a_secret_variables_path_is_kept_when_it_reads_as_one() -> None:
    redactor = Redactor(
        environ={
            "GOOGLE_APPLICATION_CREDENTIALS": "/home/u/.config/gcloud/app.json",
            "API_KEY": "/srv/keys/api",
            "PWD": "/home/alice/src/MyProject2",
        }
    )
    text = "/home/u/.config/gcloud/app.json /srv/keys/api /home/alice/src/MyProject2"

    assert redactor.redact(text) == text


# The policy's own patterns.


def test_policy_patterns_mask_each_match() -> None:
    redactor = Redactor(patterns=["acme-[0-9]{6}", "(?i)internal-[a-z]+"])

    assert redactor.redact("id acme-123456 and INTERNAL-thing ok") == (
        f"id {MASK} and {MASK} ok"
    )


def test_a_pattern_with_a_secret_group_masks_only_that_group() -> None:
    redactor = Redactor(patterns=[r"tenant=(?P<secret>\w+)", r"(a)(b)c"])

    assert redactor.redact("tenant=blue abc") == f"tenant={MASK} {MASK}"


def test_a_pattern_cannot_grow_a_mask_already_in_place() -> None:
    redactor = Redactor(patterns=["red", r"\[", "x+"])

    once = redactor.redact("TOKEN=abc red xx")

    assert once == f"TOKEN={MASK} {MASK} {MASK}"
    assert redactor.redact(once) == once


# Properties.

FRAGMENTS = [
    "git",
    "push",
    " ",
    "=",
    ":",
    "@",
    "/",
    "-",
    "--",
    "'",
    '"',
    "&",
    "?",
    "\n",
    "://",
    "https",
    "TOKEN",
    "password",
    "--token",
    "Authorization",
    "Bearer",
    "Cookie",
    "api_key",
    "pass:",
    "-u",
    "$X",
    "x-amz-signature",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    GITHUB,
    AWS_KEY_ID,
    JWT,
    "1000",
    "a1b2c3",
    MASK,
]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)


@given(texts)
def test_redacting_twice_is_redacting_once(text: str) -> None:
    once = DEFAULTS.redact(text)

    assert DEFAULTS.redact(once) == once


CONFIGURED = Redactor(
    patterns=["acme-[0-9]+", r"tenant=(?P<secret>\w+)", "(?i)x"],
    environ={"API_TOKEN": "a1b2c3-secret", "ODD_KEY": "TOKEN=abc"},
)
configured_texts = st.lists(
    st.sampled_from([*FRAGMENTS, "a1b2c3-secret", "acme-12", "tenant=", "TOKEN=abc"]),
    max_size=14,
).map("".join)


@given(configured_texts)
def test_redacting_twice_is_redacting_once_with_patterns_and_secrets(
    text: str,
) -> None:
    once = CONFIGURED.redact(text)

    assert CONFIGURED.redact(once) == once


@given(texts)
def test_leaving_out_the_rules_a_text_cannot_match_changes_nothing(text: str) -> None:
    rules = _rules_in(text)
    picked = _substitute(_combined(rules), text) if rules else text

    assert picked == _substitute(_combined(-1), text)


@pytest.mark.parametrize("rule", [name for name, _ in _RULES])
def test_a_rules_secret_groups_are_its_groups_in_the_expression_of_every_rule(
    rule: str,
) -> None:
    everything = _combined(-1).groupindex
    assert _secret_groups(rule) == tuple(
        group for group in everything if group.startswith(f"{rule}_")
    )


@given(st.text(alphabet=string.ascii_lowercase + string.digits + " ./", max_size=200))
def test_text_of_words_paths_and_numbers_is_unchanged(text: str) -> None:
    assert DEFAULTS.redact(text) == text


@given(st.binary(max_size=64), st.uuids())
def test_digests_commit_ids_and_uuids_are_unchanged(data: bytes, uuid: object) -> None:
    text = " ".join(
        [
            "sha256:" + hashlib.sha256(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),  # noqa: S324 - a git object id's shape
            hashlib.sha256(data).hexdigest().upper(),
            str(uuid),
        ]
    )

    assert DEFAULTS.redact(text) == text


tokens = st.one_of(
    st.text(string.ascii_letters + string.digits, min_size=36, max_size=40).map(
        "ghp_".__add__
    ),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
        "AKIA".__add__
    ),
    st.text(string.ascii_letters + string.digits + "-_", min_size=20, max_size=40).map(
        "glpat-".__add__
    ),
)
words = st.text(alphabet=string.ascii_lowercase + " /.", max_size=20)


@given(words, tokens, words)
def test_a_token_among_ordinary_words_is_always_masked(
    before: str, token: str, after: str
) -> None:
    redacted = DEFAULTS.redact(f"{before} {token} {after}")

    assert token not in str(redacted)
    assert redacted == f"{before} {MASK} {after}"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | texts,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_redacting_keeps_the_shape_of_the_fields(value: object) -> None:
    redacted = DEFAULTS.redact(value)

    assert _shape(redacted) == _shape(value)


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value if not isinstance(value, str) else str


# Short password options, judged with the program that takes them.

PROGRAM_LINES = [
    ("mysql -uroot -phunter2secret app", f"mysql -uroot -p{MASK} app"),
    ("mysqldump -ps3cr3t --all-databases", f"mysqldump -p{MASK} --all-databases"),
    ("/usr/bin/mariadb -h db -pX app", f"/usr/bin/mariadb -h db -p{MASK} app"),
    (
        "sudo -u root mysqladmin -p'a b' status",
        f"sudo -u root mysqladmin -p'{MASK}' status",
    ),
    ("sshpass -p hunter2secret ssh h", f"sshpass -p {MASK} ssh h"),
    ("sshpass -phunter2 ssh h", f"sshpass -p{MASK} ssh h"),
    ("sshpass -p 'unterminated", f"sshpass -p {MASK}"),
    ("sshpass -p 'a'b ssh h", f"sshpass -p {MASK} ssh h"),
    (
        "docker login -u me -p hunter2secret r.test",
        f"docker login -u me -p {MASK} r.test",
    ),
    ("podman login -phunter2 r.test", f"podman login -p{MASK} r.test"),
    ("buildah login -u me -p pw r.test", f"buildah login -u me -p {MASK} r.test"),
    (
        "helm registry login r.test -u me -p pw",
        f"helm registry login r.test -u me -p {MASK}",
    ),
    ("docker login --password pw r.test", f"docker login --password {MASK} r.test"),
    ("redis-cli -h cache -a hunter2secret ping", f"redis-cli -h cache -a {MASK} ping"),
    (
        "openssl enc -aes-256-cbc -k hunter2 -in f",
        f"openssl enc -aes-256-cbc -k {MASK} -in f",
    ),
    ("openssl enc -pass pass:hunter2 -in f", f"openssl enc -pass pass:{MASK} -in f"),
    (
        "curl --oauth2-bearer hunter2secret https://x.test",
        f"curl --oauth2-bearer {MASK} https://x.test",
    ),
    ("skopeo copy --creds me:hunter2 a b", f"skopeo copy --creds me:{MASK} a b"),
    (
        "skopeo sync --src-creds=me:pw --dest-creds you:pw2 a b",
        f"skopeo sync --src-creds=me:{MASK} --dest-creds you:{MASK} a b",
    ),
    (
        "aws configure set aws_secret_access_key wJalrXUtnFEMI",
        f"aws configure set aws_secret_access_key {MASK}",
    ),
    (
        "aws --profile dev configure set aws_session_token FQoGZXIvYXdz",
        f"aws --profile dev configure set aws_session_token {MASK}",
    ),
    (
        "aws configure set profile.dev.aws_secret_access_key k1",
        f"aws configure set profile.dev.aws_secret_access_key {MASK}",
    ),
    (
        "git -c 'http.extraHeader=Authorization: Bearer abc123' clone u",
        f"git -c 'http.extraHeader=Authorization: Bearer {MASK}' clone u",
    ),
    (
        "htpasswd -b /etc/htpasswd alice hunter2secret",
        f"htpasswd -b /etc/htpasswd alice {MASK}",
    ),
    ("htpasswd -nbB alice hunter2secret", f"htpasswd -nbB alice {MASK}"),
    ("htpasswd -cb -C 10 f alice pw", f"htpasswd -cb -C 10 f alice {MASK}"),
    (
        "psql 'postgresql://app:hunter2@db.test/app'",
        f"psql 'postgresql://app:{MASK}@db.test/app'",
    ),
    ("PGPASSWORD=hunter2 psql -h db", f"PGPASSWORD={MASK} psql -h db"),
    (
        "cd /srv && mysql -pX app | tee out; ls",
        f"cd /srv && mysql -p{MASK} app | tee out; ls",
    ),
    (
        "(env A=1 timeout 5 nice -n 3 sshpass -p 'x y' ssh h)",
        f"(env A=1 timeout 5 nice -n 3 sshpass -p '{MASK}' ssh h)",
    ),
    ("curl -u :TOKEN https://x.test", f"curl -u :{MASK} https://x.test"),
    ("zip -P hunter2 a.zip f", f"zip -P {MASK} a.zip f"),
    ("7z a -phunter2 a.7z f", f"7z a -p{MASK} a.7z f"),
    (
        "ldapsearch -x -D cn=admin -w hunter2 -b dc=x",
        f"ldapsearch -x -D cn=admin -w {MASK} -b dc=x",
    ),
    ("vault login hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz0123", f"vault login {MASK}"),
]


@pytest.mark.parametrize(("text", "expected"), PROGRAM_LINES)
def test_short_password_options_of_known_programs_are_masked(
    text: str, expected: str
) -> None:
    assert DEFAULTS.redact(text) == expected
    assert DEFAULTS.redact(["sh", "-c", text]) == ["sh", "-c", expected]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["mysql", "-uroot", "-phunter2"], ["mysql", "-uroot", f"-p{MASK}"]),
        (
            ["/usr/bin/mysqldump", "-pX", "db"],
            ["/usr/bin/mysqldump", f"-p{MASK}", "db"],
        ),
        (
            ["sudo", "-u", "root", "mysql", "-pX"],
            ["sudo", "-u", "root", "mysql", f"-p{MASK}"],
        ),
        (
            [
                "env",
                "A=1",
                "timeout",
                "-s",
                "KILL",
                "5",
                "nice",
                "-n",
                "5",
                "mysql",
                "-pX",
            ],
            [
                "env",
                "A=1",
                "timeout",
                "-s",
                "KILL",
                "5",
                "nice",
                "-n",
                "5",
                "mysql",
                f"-p{MASK}",
            ],
        ),
        (
            ["command", "exec", "mariadb", "-pX"],
            ["command", "exec", "mariadb", f"-p{MASK}"],
        ),
        (["sshpass", "-p", "a b", "ssh", "h"], ["sshpass", "-p", MASK, "ssh", "h"]),
        (
            ["docker", "login", "-u", "me", "-p", "X", "r"],
            ["docker", "login", "-u", "me", "-p", MASK, "r"],
        ),
        (["docker", "login", "-pX"], ["docker", "login", f"-p{MASK}"]),
        (
            ["helm", "registry", "login", "r", "-p", "X"],
            ["helm", "registry", "login", "r", "-p", MASK],
        ),
        (["redis-cli", "-a", "X", "ping"], ["redis-cli", "-a", MASK, "ping"]),
        (["openssl", "enc", "-k", "X"], ["openssl", "enc", "-k", MASK]),
        (["curl", "--oauth2-bearer", "X", "u"], ["curl", "--oauth2-bearer", MASK, "u"]),
        (
            ["skopeo", "copy", "--creds", "me:X", "a"],
            ["skopeo", "copy", "--creds", f"me:{MASK}", "a"],
        ),
        (
            ["aws", "configure", "set", "aws_secret_access_key", "X"],
            ["aws", "configure", "set", "aws_secret_access_key", MASK],
        ),
        (["htpasswd", "-b", "f", "alice", "X"], ["htpasswd", "-b", "f", "alice", MASK]),
        (["sshpass", "-p", "${X:-hunter2}"], ["sshpass", "-p", f"${{X:-{MASK}}}"]),
        (["sshpass", "-p", "$SSHPASS"], ["sshpass", "-p", "$SSHPASS"]),
    ],
)
def test_short_password_options_in_an_argv_are_masked(
    argv: list[str], expected: list[str]
) -> None:
    assert DEFAULTS.redact(argv) == expected
    assert DEFAULTS.redact({"parts": [{"argv": argv, "literal": True}]}) == {
        "parts": [{"argv": expected, "literal": True}]
    }


PROGRAM_UNCHANGED = [
    "mysql -p app",
    "mysql -u root -p -h db app",
    "docker run -p 8080:80 img",
    "docker run -p 8080:80 img login",
    "docker compose -p proj up -d",
    "ssh -p 22 host",
    "ssh -p 2222 -i ~/.ssh/id_ed25519 git@h",
    "mkdir -p /tmp/a/b",
    "cp -p a b",
    "grep -a pattern f",
    "tar -k -xf a.tar",
    "tar -xkf a.tar",
    "git log -p -3",
    "git push origin HEAD:refs/heads/main",
    "pip install -r requirements.txt --no-deps",
    "npm install --save-dev typescript",
    "npm run build -- --prod",
    "pytest -k 'not slow' -p no:cacheprovider",
    "python -m pytest -p xdist -x",
    "docker build -t img:1.0 .",
    "openssl dgst -sha256 file",
    "openssl x509 -in cert.pem -noout -text",
    "redis-cli -h host ping",
    "aws configure set region us-east-1",
    "aws configure get aws_secret_access_key",
    "htpasswd -D f alice",
    "htpasswd f alice",
    "ps -p 1234",
    "lsof -p 123",
    "sudo -u root mkdir -p /srv",
    "timeout -k 5 30 pytest -x",
    "nice -n 10 make -j4",
    "curl -sSL -o out https://x.test/file",
    "echo mysql -pnot-a-command",
    "unzip -l a.zip",
    "7z x a.7z -o/tmp/out",
    "sshpass -e ssh h",
    "SSHPASS=$SSHPASS sshpass -e ssh h",
    "TOKEN=$HOME/.token",
    "TOKEN=${HOME}/.token",
    "TOKEN=${X:?set the token}",
    "cd $OLDPWD && echo $PWD",
    "max_tokens: 100",
    "tokenizer: bpe",
    "token_type: bearer",
    "secretName: app-secrets",
]


@pytest.mark.parametrize("text", PROGRAM_UNCHANGED)
def test_ordinary_command_lines_are_left_as_they_are(text: str) -> None:
    assert DEFAULTS.redact(text) == text
    assert DEFAULTS.redact(text.split()) == text.split()


# Key spellings of JSON and YAML.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"accessToken":"abc","n":1}', f'{{"accessToken":"{MASK}","n":1}}'),
        ('{"refreshToken": "def"}', f'{{"refreshToken": "{MASK}"}}'),
        ("clientSecret: xyz", f"clientSecret: {MASK}"),
        ("apiKey: k1", f"apiKey: {MASK}"),
        ('"authToken": "t"', f'"authToken": "{MASK}"'),
        ('"privateKey": "k"', f'"privateKey": "{MASK}"'),
        ("secretKey: s", f"secretKey: {MASK}"),
        ("sessionToken: s", f"sessionToken: {MASK}"),
        ("idToken: t", f"idToken: {MASK}"),
        ('{"passwd": "x", "pwd": "y"}', f'{{"passwd": "{MASK}", "pwd": "{MASK}"}}'),
        (
            'curl -d \'{"accessToken":"X"}\' u',
            f'curl -d \'{{"accessToken":"{MASK}"}}\' u',
        ),
    ],
)
def test_camel_case_and_short_key_names_are_masked(text: str, expected: str) -> None:
    assert DEFAULTS.redact(text) == expected


# Names outside the sandbox's secret patterns, for the log only.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MYSQL_PWD=hunter2 mysql", f"MYSQL_PWD={MASK} mysql"),
        ("SSHPASS=hunter2 sshpass -e ssh h", f"SSHPASS={MASK} sshpass -e ssh h"),
        ("DB_PASS=x ./run", f"DB_PASS={MASK} ./run"),
        ("export REDIS_PASS='a b'", f"export REDIS_PASS='{MASK}'"),
        ("GPG_PASSPHRASE=x gpg", f"GPG_PASSPHRASE={MASK} gpg"),
    ],
)
def test_password_names_outside_the_sandbox_patterns_are_masked(
    text: str, expected: str
) -> None:
    assert DEFAULTS.redact(text) == expected


def test_values_of_password_variables_are_masked_wherever_they_appear() -> None:
    redactor = Redactor(
        environ={
            "MYSQL_PWD": "hunter2secret",
            "SSHPASS": "s3cr3tpass",
            "DB_PASS": "dbpass-123",
        }
    )

    assert redactor.redact("a hunter2secret s3cr3tpass dbpass-123") == (
        f"a {MASK} {MASK} {MASK}"
    )


def test_the_shells_directories_and_existing_paths_are_not_masked(
    tmp_path: Path,
) -> None:
    place = str(tmp_path / "credentials.json")
    Path(place).touch()
    redactor = Redactor(
        environ={
            "PWD": "/work/somewhere-long",
            "OLDPWD": "/tmp/other-directory",
            "BUILD_PWD": str(tmp_path),
            "GOOGLE_APPLICATION_CREDENTIALS": place,
        }
    )
    text = f"/work/somewhere-long /tmp/other-directory {tmp_path} {place}"

    assert redactor.redact(text) == text
    assert redactor.redact(f"ssl_key={place}") == f"ssl_key={place}"


def test_a_secret_value_glued_to_a_word_is_masked_unless_it_is_hex() -> None:
    redactor = Redactor(environ={"GH_TOKEN": "ghtokvalue12345"})

    assert redactor.redact("xghtokvalue12345") == f"x{MASK}"


# Literal secrets beside references.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GITHUB_TOKEN=${X:-hunter2secret} make", f"GITHUB_TOKEN=${{X:-{MASK}}} make"),
        ("TOKEN=${X:=abc123} make", f"TOKEN=${{X:={MASK}}} make"),
        (
            "curl -H 'Authorization: Bearer $(cat f)hunter2secret' u",
            f"curl -H 'Authorization: Bearer $(cat f){MASK}' u",
        ),
        ("tool --token ${T:-abc123}", f"tool --token ${{T:-{MASK}}}"),
        ("tool --token=${T:-${U:-abc}}", f"tool --token=${{T:-${{U:-{MASK}}}}}"),
        ('DB_PASSWORD="$(pass show db)x1"', f'DB_PASSWORD="$(pass show db){MASK}"'),
        ("tool --password $ecret", f"tool --password {MASK}"),
        ("DB_PASSWORD=${X:-/srv/pw} ./run", f"DB_PASSWORD=${{X:-{MASK}}} ./run"),
        (
            "TOKEN=${X:-/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY1}",
            f"TOKEN=${{X:-{MASK}}}",
        ),
    ],
)
def test_literal_secrets_beside_references_are_masked(text: str, expected: str) -> None:
    assert DEFAULTS.redact(text) == expected


# Linear time.

ADVERSARIAL = [
    "${X:-" * 40_000,
    "$(" * 100_000,
    "sudo " * 40_000 + "mysql -pX",
    "-p" * 100_000,
    "mysql " + "-p" * 100_000,
    "htpasswd -" + "b" * 200_000,
    "aws configure set " * 10_000,
    "accessToken" * 20_000 + ":",
    "a" * 200_000 + "Token: x",
    "'" * 200_000,
    '"\\' * 100_000,
    "TOKEN=" + "${" * 100_000,
    "Authorization: Bearer " + "$(x)" * 50_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_crafted_inputs_are_redacted_in_linear_time(text: str) -> None:
    started = time.perf_counter()

    DEFAULTS.redact(text)
    DEFAULTS.redact(["sh", "-c", text])
    DEFAULTS.redact(text.split())

    assert time.perf_counter() - started < 5


@given(
    st.lists(
        st.sampled_from(
            [
                "mysql",
                "sshpass",
                "docker",
                "login",
                "-p",
                "-pX",
                "-a",
                "redis-cli",
                "sudo",
                "-u",
                "env",
                "A=1",
                "htpasswd",
                "-b",
                "aws",
                "configure",
                "set",
                "aws_secret_access_key",
                "x",
                "'",
                '"',
                ";",
                "${X:-",
                "}",
                "$(",
                ")",
                MASK,
            ]
        ),
        max_size=12,
    )
)
def test_redacting_command_words_twice_is_redacting_once(words: list[str]) -> None:
    once = DEFAULTS.redact(words)

    assert DEFAULTS.redact(once) == once
    line = DEFAULTS.redact(" ".join(words))
    assert DEFAULTS.redact(line) == line


# Ordinary developer command lines: none holds a secret, and none is masked,
# as an argv, as one string or inside sh -c.

ORDINARY_COMMANDS = [
    *r"""
git status
git add -A
git commit -m "fix: handle token refresh when password reset fails"
git commit -m "Add secret scanning to CI"
git log --oneline --author=alice -n 20
git log --format='%h %an: %s'
git push -u origin feature/auth-tokens
git push --set-upstream origin main
git rebase -i HEAD~3
git checkout -b fix/keyring-backend
git config user.signingkey 3AA5C34371567BD2
git config --global user.email dev@example.com
git -c core.sshCommand="ssh -i ~/.ssh/id_ed25519 -o IdentitiesOnly=yes" fetch
git clone git@git.example.test:org/repo.git
git clone https://git.example.test/org/repo.git
git clone ssh://git@gitlab.example.com:2222/group/project.git
git diff HEAD~1 -- src/auth/token.py
git grep -n "api_key"
git grep -n password -- '*.py'
git show 4b825dc642cb6eb9a060e54bf8d69288fbee4904
git tag -s v1.2.0 -m "release"
git stash push -m "wip on session handling"
git remote add upstream https://git.example.test/upstream/repo.git
git bisect start HEAD v1.0
git cherry-pick -x abc123
git blame -L 10,20 src/secret_manager.py
git reset --soft HEAD~1
pip install -r requirements.txt
pip install --user keyring
pip install "requests[socks]>=2.31"
pip install -e ".[dev]"
pip install --index-url http://localhost:8080/simple/ mypkg
pip install --extra-index-url https://download.example.org/whl/cu121 torch
pip download --no-deps -d wheels pyjwt==2.8.0
pip install python-keycloak passlib[bcrypt]
pip config set global.timeout 60
python -m pytest -k "test_token and not slow" -x
python -m pytest -k test_password_reset tests/
pytest -k "secret or auth" -v --tb=short
pytest tests/test_auth.py::test_login_with_bad_password -vv
pytest --cov=src --cov-report=term-missing
python manage.py createsuperuser --username admin --email admin@example.com
python manage.py migrate --database=default
python -c "import secrets; print(secrets.token_hex(16))"
python -m http.server 8000 --bind 127.0.0.1
python train.py --batch-size 32 --lr 3e-4 --max-tokens 4096
python generate.py --max-new-tokens 256 --tokenizer gpt2
python run.py --num-tokens 100 --key-column id
TOKENIZERS_PARALLELISM=false python train.py
CUDA_VISIBLE_DEVICES=0,1 python train.py --config configs/base.yaml
PYTHONKEYRING_BACKEND=keyring.backends.null.Keyring pip install foo
PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring poetry install
KEYBOARD_LAYOUT=us make
SESSION_NAME=dev tmux new -s dev
tmux new-session -d -s work
tmux attach -t work
npm install
npm install --save-dev typescript @types/node
npm run build -- --mode production
npm test -- --watch=false
npm ci --prefer-offline --no-audit
npm publish --access public
npm config set registry http://localhost:4873/
npm run dev -- --port 3000 --host 0.0.0.0
npx prisma migrate dev --name add-token-table
npx jest --testNamePattern="refresh token"
npx eslint . --ext .ts,.tsx
yarn add jsonwebtoken bcrypt
pnpm install --frozen-lockfile
node --inspect=127.0.0.1:9229 server.js
cargo build --release
cargo test --features "auth tls" -- --nocapture
cargo run --bin server -- --port 8080
cargo add tokio --features full
cargo clippy --all-targets -- -D warnings
cargo test token::tests::expired -- --exact
rustup target add wasm32-unknown-unknown
make -j8
make install PREFIX=/usr/local
make test TESTS="test_auth test_session"
make KEY_SIZE=4096 certs
make build GOOS=linux GOARCH=amd64
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DENABLE_SSL=ON
go build ./...
go test -run TestTokenRefresh ./pkg/auth/...
go test -v -count=1 -run 'TestPassword.*' ./...
go mod tidy
go get git.example.test/golang-jwt/jwt/v5@latest
docker run -p 8080:80 nginx
docker run --rm -it -p 127.0.0.1:5432:5432 postgres:16
docker run -d --name redis -p 6379:6379 redis:7
docker run -v $PWD:/src -w /src golang:1.22 go build
docker run -u 1000:1000 -v "$(pwd)":/work alpine ls
docker run -u $(id -u):$(id -g) -v "$PWD":/work alpine ls
docker run --user www-data:www-data nginx
docker run -u postgres:postgres postgres:16 initdb
docker run -e NODE_ENV=production -e PORT=3000 app
docker run --env-file .env app
docker run --secret id=npmrc,src=$HOME/.npmrc app
docker build -t myapp:latest --build-arg VERSION=1.2 .
docker build --secret id=pip,src=pip.conf -t app .
docker compose up -d --build
docker compose -f docker-compose.test.yml run --rm tests pytest -k auth
docker exec -it db psql -U postgres -d app
docker logs -f --tail 100 api
docker ps --format '{{.Names}}: {{.Status}}'
docker inspect --format '{{.State.Health.Status}}' api
docker push registry.example.com:5000/team/app:1.0
docker login registry.example.com
docker login --username ci --password-stdin registry.example.com
docker network create --driver bridge backend
podman run -p 8443:8443 images.example.test/keycloak/keycloak start-dev
ssh -p 2222 user@host
ssh -p 2222 -i ~/.ssh/deploy_key deploy@10.0.0.5 'systemctl restart app'
ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@10.0.0.7
ssh -o PubkeyAuthentication=no -o PasswordAuthentication=yes user@host
ssh -o HostKeyAlgorithms=+ssh-rsa -o PubkeyAcceptedKeyTypes=+ssh-rsa old@host
ssh -L 8080:localhost:80 -N bastion
ssh -J jump@bastion:22 app@10.1.2.3
scp -P 2222 build.tar.gz user@host:/srv/releases/
rsync -avz -e "ssh -p 2222" ./dist/ deploy@host:/var/www/
ssh-keygen -t ed25519 -C "dev@example.com" -f ~/.ssh/id_ed25519
ssh-keygen -R 10.0.0.5
ssh-add -l
curl -H 'Accept: application/json' https://api.example.com/v1/items
curl -sSfL https://install.example.test -o rustup.sh
curl -I http://localhost:3000/healthz
curl --cacert ca.pem --cert client.pem --key client-key.pem https://mtls.local:8443/
curl -o /dev/null -w '%{http_code}: %{time_total}\n' http://localhost/
curl http://localhost:8080/api/tokens?page=2&per_page=50
curl 'http://localhost:9200/_cat/indices?v&s=index'
curl -u admin http://localhost:15672/api/overview
curl --retry 3 --connect-timeout 5 https://example.com
wget -q --show-progress https://example.com/file.tar.gz
wget --no-check-certificate -O out.html https://localhost:8443/
kubectl get pods -n kube-system -o wide
kubectl get secret db-creds -o jsonpath='{.data.password}'
kubectl get secrets -A
kubectl describe secret app-token-abc12
kubectl logs -f deploy/api -c app --since=10m
kubectl port-forward svc/grafana 3000:80
kubectl apply -f k8s/ --dry-run=client
kubectl exec -it pod/api-7d9f -- /bin/sh
kubectl create secret generic app --from-file=ssh-privatekey=/root/.ssh/id_rsa
kubectl rollout restart deployment/api
kubectl config use-context kind-dev
kubectl get events --sort-by=.metadata.creationTimestamp
kubectl create serviceaccount ci-bot
kubectl create token ci-bot --duration=1h
kubectl -n auth get cm keycloak-config -o yaml
kubectl label node worker-1 node-role.kubernetes.io/worker=
helm install grafana grafana/grafana --set service.type=NodePort
helm upgrade --install api ./chart --set image.tag=1.2.3 --set replicas=3
helm upgrade api ./chart --set ingress.tls=true --set monkeyPatch=false
terraform plan -var-file=prod.tfvars -out=plan.out
terraform apply -auto-approve plan.out
terraform state show aws_iam_access_key.ci
aws s3 ls s3://my-bucket --profile dev
aws s3 cp ./build s3://site/ --recursive --sse aws:kms --sse-kms-key-id alias/site
aws sts get-caller-identity --region eu-west-1
aws kms decrypt --key-id alias/app --ciphertext-blob fileb://blob
aws secretsmanager get-secret-value --secret-id prod/db
aws ssm get-parameter --name /app/db/password --with-decryption
aws configure set region eu-west-1
aws configure set output json --profile ci
gcloud auth login
gcloud config set project my-project
gcloud secrets versions access latest --secret=db-password
az keyvault secret show --vault-name kv --name api-key
gh pr create --title "Rotate session keys" --body "Uses new keyring"
gh auth status
gh secret list
gh secret set API_KEY < key.txt
gh api repos/o/r/actions/secrets
openssl x509 -in cert.pem -noout -text
openssl s_client -connect localhost:443 -servername localhost
openssl rand -hex 32
openssl genrsa -out key.pem 2048
openssl rsa -in key.pem -pubout -out pub.pem
openssl dgst -sha256 -sign key.pem -out sig.bin data.txt
openssl enc -d -aes-256-cbc -in secret.enc -out secret.txt -pass file:./pass.txt
gpg --list-secret-keys --keyid-format=long
gpg --armor --export 3AA5C34371567BD2
gpg --recv-keys --keyserver hkps://keys.example.test 0xABCDEF
mysql -u root -h 127.0.0.1 -P 3306 app
mysql -h db -u app -p app_db
mysqldump --single-transaction --routines -u root -p app > dump.sql
mysql --protocol=tcp -uroot -e "show databases"
psql -h localhost -U postgres -d app -c "select count(*) from sessions"
psql "postgresql://app@localhost:5432/app?sslmode=disable"
psql -c "SELECT id, token_hash FROM api_tokens LIMIT 5"
redis-cli -h 127.0.0.1 -p 6379 ping
redis-cli --scan --pattern 'session:*'
redis-cli -n 2 get session:abc
sqlite3 app.db "select * from users where password_reset_at is not null"
mongosh "mongodb://localhost:27017/app" --eval "db.users.countDocuments()"
zip -r release.zip dist/
unzip -o release.zip -d out/
unzip -l archive.zip
7z x archive.7z -oout
tar -czf backup.tar.gz --exclude=node_modules .
find . -name '*.key' -mtime +30 -delete
find . -type f -name "*secret*" -not -path './.git/*'
grep -rn "password" --include=*.py src/
grep -rnE "api[_-]?key" .
rg -n "TOKEN|SECRET" --glob '!*.lock'
rg "Authorization" src/ -g '*.ts'
sed -i 's/token_ttl = 3600/token_ttl = 7200/' config.py
sed -n '1,20p' secrets.example.env
awk -F: '{print $1": "$3}' /etc/passwd
cat ~/.ssh/id_ed25519.pub
chmod 600 ~/.ssh/id_ed25519
chown -R www-data:www-data /var/www
chown 1000:1000 data/
ls -la ~/.gnupg
env | grep -i proxy
export PATH="$HOME/.cargo/bin:$PATH"
export NODE_OPTIONS=--max-old-space-size=4096
echo "export KUBECONFIG=$HOME/.kube/config" >> ~/.bashrc
jq '.token_type' response.json
jq -r '.items[] | "\(.name): \(.status)"' out.json
yq '.spec.template.spec.containers[0].env' deploy.yaml
systemctl restart sshd
journalctl -u app --since "1 hour ago"
sudo apt-get install -y libssl-dev pkg-config
sudo -u postgres psql -c "create database app"
sudo -E env "PATH=$PATH" make install
timeout 30 ./run-tests.sh --suite auth
ansible-playbook -i inventory site.yml --limit web --tags deploy
ansible-playbook site.yml --ask-vault-pass
ansible-vault view group_vars/all/vault.yml
vault kv get secret/app
vault status
vault login -method=oidc
htpasswd -c .htpasswd admin
htpasswd -nB admin
ldapsearch -x -H ldap://localhost -b dc=example,dc=com "(uid=alice)"
keytool -list -keystore app.jks
keytool -importcert -alias ca -file ca.pem -keystore truststore.jks -noprompt
java -Dserver.port=8080 -Dspring.profiles.active=dev -jar app.jar
java -Djavax.net.ssl.trustStore=/etc/pki/truststore.jks -jar app.jar
mvn -DskipTests -Dmaven.repo.local=.m2 package
./gradlew test --tests "*TokenServiceTest*"
dotnet test --filter "FullyQualifiedName~Auth"
dotnet user-secrets list
php artisan key:generate
php artisan migrate --force
rails db:migrate RAILS_ENV=test
bundle exec rspec spec/models/session_spec.rb
rake secret
hugo server -D --bind 0.0.0.0 --port 1313
ffmpeg -i in.mp4 -c:v libx264 -crf 23 -preset fast out.mp4
convert -resize 50% in.png out.png
nc -zv localhost 5432
nmap -p 22,80,443 127.0.0.1
iptables -L -n -v
ip addr show dev eth0
lsof -i :8080
ps aux --sort=-%mem | head
kill -9 12345
du -sh node_modules
df -h /
ln -s ../shared/.env.example .env.example
cp .env.example .env
diff -u old/session.py new/session.py
patch -p1 < fix-auth.patch
xargs -n1 -P4 curl -sO < urls.txt
watch -n 2 kubectl get pods
uvicorn app.main:app --reload --host 0.0.0.0 --port 8000
gunicorn -w 4 -b 127.0.0.1:8000 app:app
flask run --port 5001
celery -A proj worker -l info -Q default,auth
alembic revision --autogenerate -m "add password_reset_tokens table"
poetry add pyjwt --group dev
poetry run pytest -k "not integration"
uv pip install -r requirements.lock
uv run --with httpx python script.py
conda create -n env python=3.11 -y
black --check . && ruff check --fix .
mypy --strict src/ --exclude 'tests/.*_token_.*'
pre-commit run --all-files
tox -e py311 -- -k session
sort -t: -k2 -n data.txt
cut -d: -f1,3 /etc/group
history | grep ssh
echo "key: value" | yq .
printf '%s\n' "password reset" "token expired"
openssl passwd -6 -salt xyz
base64 -d <<< aGVsbG8=
dig +short example.com
stat -c '%a %U:%G' file
crontab -l
sshpass -f ~/.pwfile ssh host
git config --global credential.helper store
git credential-manager configure
python train.py --max-tokens=4096 --tokenizer=gpt2
python run.py --sort-key=name --primary-key=id
sort --key=2,2n data.txt
python gen.py --max_new_tokens=256
python app.py --session-timeout=30 --session-name=dev
terraform apply -var instance_type=t3.micro -var key_name=deploy
pytest --log-level=DEBUG -p no:cacheprovider
pytest -k "test_token_expiry" -p pytest_asyncio
mypy --cache-dir=/tmp/mypy
git config --global gpg.format ssh
git -c commit.gpgsign=false commit -m x
git -c user.signingkey=~/.ssh/id_ed25519.pub commit -S -m x
docker run -v $PWD:/app -v $HOME/.cache:/root/.cache img
echo "cwd is $PWD: ok"
cp -r $PWD/dist /srv/
cargo test auth::token::tests
rustc --explain E0599
python -c "from app.auth import token; print(token.TTL)"
curl "http://localhost:8000/items?sort_key=created&limit=10"
curl "http://localhost:8000/search?q=password+reset"
curl "http://localhost:8000/auth/callback?state=xyz"
curl -H "X-Request-Id: 1234" -H "Accept-Encoding: gzip" localhost
kubectl get pods -l app.kubernetes.io/name=keycloak
kubectl annotate secret x kubernetes.io/service-account.name=ci
openssl genpkey -algorithm ed25519 -out key.pem
openssl pkeyutl -sign -inkey key.pem -in data
go test ./... -run TestSessionKey -count=1
npm run test -- --grep "token"
ansible-playbook site.yml -e "key_path=/etc/ssl/app.key"
make PASS=1 test
awk -v key=id '{print $key}' f
""".splitlines()[1:],
    'curl -H "Content-Type: application/json" -d \'{"name":"x","count":2}\' '
    "http://localhost:8000/api",
    "curl -H 'Accept: application/vnd.github+json' -H "
    "'X-GitHub-Api-Version: 2022-11-28' https://api.example.test/repos/o/r",
    "curl -X POST -H 'Content-Type: application/x-www-form-urlencoded' -d "
    "'grant_type=client_credentials&scope=read' http://localhost:8080/token",
    "openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out "
    'server.csr -subj "/CN=localhost"',
]


@pytest.mark.parametrize("line", ORDINARY_COMMANDS)
def test_ordinary_developer_command_lines_are_not_masked(line: str) -> None:
    argv = shlex.split(line)

    assert DEFAULTS.redact(line) == line
    assert DEFAULTS.redact(argv) == argv
    assert DEFAULTS.redact(["sh", "-c", line]) == ["sh", "-c", line]


@pytest.mark.parametrize(
    "line",
    [
        "docker run -v $PWD:/app img",
        "docker run -v ${PWD}:/app -v $OLDPWD:/old img",
        'echo "cwd is $PWD: ok"',
        "cargo test token::tests::expired",
        "cargo test auth::token::tests",
        "TOKENIZERS_PARALLELISM=false python train.py",
        "KEYBOARD_LAYOUT=us SSH_KEYS_DIR=keys make",
        "MAX_TOKENS=4096 SORT_KEY=name KEYID=0x12 SESSION_NAME=dev make",
        "python train.py --max-tokens=4096 --max_new_tokens=256",
        "python run.py --sort-key=name --primary-key=id",
        "gpg --list-keys --keyid-format=long",
        "ssh -o StrictHostKeyChecking=no -o PasswordAuthentication=no h",
        "ssh -o PubkeyAuthentication=yes -o HostKeyAlgorithms=+ssh-rsa h",
        "docker run -u postgres:postgres --user www-data:www-data img",
        "docker build --secret id=pip,src=pip.conf .",
        "docker run --secret id=npmrc,src=$HOME/.npmrc app",
        "git -c user.signingkey=~/.ssh/no-such-key.pub commit -S",
        "kubectl create secret generic a --from-file=ssh-privatekey=/no/such/id",
        "tool --ssl-key=/no/such/dir/key.pem --token-path ~/no/such/token",
        "make PASS=1 KEY_SIZE=4096 test",
        "tool --auth=none --pass 0",
    ],
)
def test_words_that_only_contain_a_secret_word_are_kept(line: str) -> None:
    """A secret word counts as a whole part of a name, option or key, not inside one.

    A path is kept whether or not it exists here; a weakly secret name (KEY,
    PASS, AUTH) keeps a number or a yes/no word.
    """
    assert DEFAULTS.redact(line) == line
    assert DEFAULTS.redact(["sh", "-c", line]) == ["sh", "-c", line]
    assert DEFAULTS.redact(shlex.split(line)) == shlex.split(line)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PWD=hunter2secret", f"PWD={MASK}"),
        ('{"pwd": "hunter2"}', f'{{"pwd": "{MASK}"}}'),
        ("pwd: hunter2", f"pwd: {MASK}"),
        ("API_KEY=123456 STRIPE_KEY=abc", f"API_KEY={MASK} STRIPE_KEY={MASK}"),
        ("SORT_KEY=a SIGNING_KEY=abc", f"SORT_KEY=a SIGNING_KEY={MASK}"),
        ("--api-key=1234 --token 42", f"--api-key={MASK} --token {MASK}"),
        ("make PASS=hunter2", f"make PASS={MASK}"),
        ("docker run --secret=hunter2 img", f"docker run --secret={MASK} img"),
        ("token: abc::def", f"token: {MASK}"),
        ("PGPASSWORD=x GH_TOKEN=y", f"PGPASSWORD={MASK} GH_TOKEN={MASK}"),
        ("mysql --password=/x/y -p/z/w", f"mysql --password={MASK} -p{MASK}"),
    ],
)
def test_names_that_are_secret_words_still_mask(text: str, expected: str) -> None:
    assert DEFAULTS.redact(text) == expected


def test_secret_variables_are_told_by_their_names_words() -> None:
    redactor = Redactor(
        environ={
            "TOKENIZERS_PARALLELISM": "false-ish-value",
            "KEYBOARD_LAYOUT": "us-international",
            "MAX_TOKENS": "4096409640964096",
            "GITHUB_TOKEN": "ghtokval_9912ab",
        }
    )

    assert redactor.redact("false-ish-value us-international 4096409640964096") == (
        "false-ish-value us-international 4096409640964096"
    )
    assert redactor.redact("x ghtokval_9912ab") == f"x {MASK}"


# A program reached through another, and programs with their own spellings.

SECRET = "hunter2SEKRIT"  # noqa: S105 - the secret each case must not show

REACHED = [
    ["docker", "exec", "-it", "db", "mysql", "-uroot", f"-p{SECRET}"],
    ["docker", "exec", "-e", "A=1", "-u", "root", "db", "mysql", f"-p{SECRET}"],
    ["podman", "run", "--rm", "-v", "a:/b", "mysql:8", "mysql", f"-p{SECRET}"],
    ["docker", "-H", "tcp://h", "--tls", "login", "-p", SECRET],
    ["kubectl", "exec", "-n", "x", "pod", "--", "mysql", f"-p{SECRET}"],
    ["ssh", "-p", "22", "-i", "k", "host", "mysql", f"-p{SECRET}"],
    ["ssh", "host", f"mysql -h db -p{SECRET} app"],
    ["xargs", "-n", "1", "mysql", f"-p{SECRET}"],
    ["watch", "-n", "5", "mysql", f"-p{SECRET}"],
    ["strace", "-f", "-o", "out", "mysql", f"-p{SECRET}"],
    ["sh", "-c", f"mysql -h db \\\n  -p{SECRET} app"],
    ["az", "login", "--service-principal", "-u", "id", "-p", SECRET],
    ["mongosh", "-u", "admin", "-p", SECRET],
    ["mongo", "admin", "-u", "root", "-p", SECRET],
    ["ssh-keygen", "-p", "-P", SECRET, "-N", SECRET, "-f", "k"],
    ["smbclient", "//h/s", "-U", f"user%{SECRET}"],
    ["sqlplus", f"scott/{SECRET}@db"],
    ["unzip", f"-P{SECRET}", "a.zip"],
    ["curl", "-u", f"alice:{SECRET}", "u"],
    ["curl", f"--user=alice:{SECRET}", "u"],
]


@pytest.mark.parametrize("argv", REACHED, ids=range(len(REACHED)))
def test_program_rules_reach_through_runners_and_new_programs(
    argv: list[str],
) -> None:
    """The secret is masked in an argv, in one line and inside sh -c."""
    line = shlex.join(argv)

    assert SECRET not in str(DEFAULTS.redact(argv))
    assert SECRET not in DEFAULTS.redact(line)
    assert SECRET not in str(DEFAULTS.redact(["sh", "-c", line]))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["smbclient", "-U", "bob%pw"], ["smbclient", "-U", f"bob%{MASK}"]),
        (["sqlplus", "scott/pw@db"], ["sqlplus", f"scott/{MASK}@db"]),
        (["mongosh", "-p", "--host", "h"], ["mongosh", "-p", "--host", "h"]),
        (["docker", "exec", "db", "ls", "-p"], ["docker", "exec", "db", "ls", "-p"]),
        (
            ["docker", "run", "-p", "80:80", "img", "ssh", "-p", "22", "h"],
            ["docker", "run", "-p", "80:80", "img", "ssh", "-p", "22", "h"],
        ),
    ],
)
def test_reached_programs_keep_what_is_not_their_secret(
    argv: list[str], expected: list[str]
) -> None:
    assert DEFAULTS.redact(argv) == expected
