"""The program tables: what the tools agents use are, and how their options read."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.approvals import Category, Word, WordKind
from corral.approvals._wrappers import WRAPPERS
from corral.approvals.catalog._base import first_operand, parse_options, spec
from corral.approvals.catalog._dev import DEV_PROGRAMS
from corral.approvals.catalog._files import FILE_PROGRAMS
from corral.approvals.catalog._git import GIT_PROGRAMS
from corral.approvals.catalog._net import NETWORK_PROGRAMS
from corral.approvals.catalog._pkg import PACKAGE_PROGRAMS
from corral.approvals.catalog._shell import SHELL_PROGRAMS
from corral.approvals.catalog._system import SYSTEM_PROGRAMS
from tests.approvals.classify_support import Classifier, case, check, only

C = Category


READS = [
    "ls -la", "cat README", "head -n 5 README", "tail -f log", "less README",
    "wc -l README", "sort README", "uniq -c", "cut -d: -f1", "tr a b", "diff a b",
    "grep -rn x .", "egrep x f", "rg x", "ag x", "fd x", "fd -e py", "jq .a f.json",
    "yq .a f.yaml", "awk '{print $1}' f", "sed -n 1p f", "tree", "stat f", "du -sh",
    "df -h", "which git", "file f", "md5sum f", "sha256sum f", "base64 f", "xxd f",
    "echo hi", "printf x", "pwd", "true", "test -f x", "[ -f x ]", "date", "id",
    "uname -a", "ps aux", "env", "printenv", "hostname", "systemctl status nginx",
    "journalctl -u x", "mount", "crontab -l", "man ls", "tar -tf a.tar",
    "unzip -l a.zip", "gzip -c f", "pip list", "pip show x", "pip freeze",
    "npm ls", "cargo tree", "go version", "openssl x509 -in c.pem -noout",
    "pip --version", "gpg --version", "terraform fmt", "kubectl version --client",
]  # fmt: skip


@pytest.mark.parametrize("line", READS, ids=[f"{r} reads" for r in READS])
def test_readers_are_reads(classifier: Classifier, line: str) -> None:
    check(classifier.text(line), frozenset({C.READ}), frozenset(set(C) - {C.READ}))


TABLE = [
    # Tests, builds, linters.
    only("npm run build", C.TEST_BUILD, why="npm run"),
    only("yarn test", C.TEST_BUILD, why="yarn test"),
    only("yarn build", C.TEST_BUILD, why="yarn runs a script by name"),
    only("pnpm test", C.TEST_BUILD, why="pnpm test"),
    only("pnpm run lint", C.TEST_BUILD, why="pnpm run"),
    only("bun test", C.TEST_BUILD, why="bun test"),
    only("tox -e py311", C.TEST_BUILD, why="tox"),
    only("nox -s tests", C.TEST_BUILD, why="nox"),
    only("python -m unittest", C.TEST_BUILD, why="python -m unittest"),
    only("cargo test", C.TEST_BUILD, why="cargo test"),
    only("cargo build --release", C.TEST_BUILD, why="cargo build"),
    only("go test ./...", C.TEST_BUILD, why="go test"),
    only("go build ./...", C.TEST_BUILD, why="go build"),
    only("mvn test", C.TEST_BUILD, why="mvn"),
    only("gradle test", C.TEST_BUILD, why="gradle"),
    only("dotnet test", C.TEST_BUILD, why="dotnet test"),
    only("cmake -S . -B build", C.TEST_BUILD, why="cmake configure"),
    only("cmake --build build", C.TEST_BUILD, why="cmake --build"),
    only("ninja -C build", C.TEST_BUILD, why="ninja"),
    only("meson test", C.TEST_BUILD, why="meson"),
    only("bazel test //...", C.TEST_BUILD, why="bazel test"),
    only("just test", C.TEST_BUILD, why="just"),
    only("jest --ci", C.TEST_BUILD, why="jest"),
    only("vitest run", C.TEST_BUILD, why="vitest"),
    only("ruff check .", C.TEST_BUILD, why="ruff"),
    only("mypy src", C.TEST_BUILD, why="mypy"),
    only("black --check .", C.TEST_BUILD, why="black"),
    only("eslint .", C.TEST_BUILD, why="eslint"),
    only("prettier --check .", C.TEST_BUILD, why="prettier"),
    only("tsc --noEmit", C.TEST_BUILD, why="tsc"),
    only("gcc -c x.c", C.TEST_BUILD, why="gcc"),
    only("clang -c x.c", C.TEST_BUILD, why="clang"),
    only("rustc x.rs", C.TEST_BUILD, why="rustc"),
    only("pre-commit run --all-files", C.TEST_BUILD, why="pre-commit run"),
    # Code run inside the sandbox.
    only("python x.py", C.EXECUTE, why="python FILE"),
    only("python3 -c 'print(1)'", C.EXECUTE, why="python -c"),
    only("python", C.EXECUTE, why="python reading stdin"),
    only("node t.js", C.EXECUTE, why="node FILE"),
    only("node -e 'x'", C.EXECUTE, why="node -e"),
    only("ruby -e 'x'", C.EXECUTE, why="ruby -e"),
    only("perl -e 'x'", C.EXECUTE, why="perl -e"),
    only("go run .", C.EXECUTE, why="go run"),
    only("cargo run", C.EXECUTE, why="cargo run"),
    only("deno run x.ts", C.EXECUTE, why="deno run"),
    only("java -jar x.jar", C.EXECUTE, why="java"),
    only("kill 123", C.EXECUTE, why="kill signals the command's own processes"),
    only("pkill -f x", C.EXECUTE, why="pkill"),
    case("awk '{system(\"x\")}' f", C.EXECUTE, why="awk's system()"),
    case("sed 's/x/y/e' f", C.EXECUTE, why="sed's e flag"),
    case("perl -pi -e 's/a/b/' README", C.EXECUTE, C.EDIT, why="perl -i edits"),
    # Packages.
    only("npm install left-pad", C.PACKAGE_INSTALL, why="npm install"),
    only("npm i", C.PACKAGE_INSTALL, why="npm i"),
    only("npm ci", C.PACKAGE_INSTALL, why="npm ci"),
    only("npm add x", C.PACKAGE_INSTALL, why="npm add"),
    only("yarn", C.PACKAGE_INSTALL, why="yarn alone installs"),
    only("yarn add x", C.PACKAGE_INSTALL, why="yarn add"),
    only("pnpm add x", C.PACKAGE_INSTALL, why="pnpm add"),
    only("bun add x", C.PACKAGE_INSTALL, why="bun add"),
    only("pip install requests", C.PACKAGE_INSTALL, why="pip install"),
    only("pip3 install -r requirements.txt", C.PACKAGE_INSTALL, why="pip3 install"),
    only("python -m pip install x", C.PACKAGE_INSTALL, why="python -m pip install"),
    only("uv add x", C.PACKAGE_INSTALL, why="uv add"),
    only("uv pip install x", C.PACKAGE_INSTALL, why="uv pip install"),
    only("uv sync", C.PACKAGE_INSTALL, why="uv sync"),
    only("poetry add x", C.PACKAGE_INSTALL, why="poetry add"),
    only("poetry install", C.PACKAGE_INSTALL, why="poetry install"),
    only("conda install x", C.PACKAGE_INSTALL, why="conda install"),
    only("cargo add serde", C.PACKAGE_INSTALL, why="cargo add"),
    only("go get x", C.PACKAGE_INSTALL, why="go get"),
    only("go mod download", C.PACKAGE_INSTALL, why="go mod download"),
    only("gem install x", C.PACKAGE_INSTALL, why="gem install"),
    only("bundle install", C.PACKAGE_INSTALL, why="bundle install"),
    only("composer require x", C.PACKAGE_INSTALL, why="composer require"),
    only("apt-get install -y x", C.PACKAGE_INSTALL, why="apt-get install"),
    only("brew install x", C.PACKAGE_INSTALL, why="brew install"),
    only("pacman -S x", C.PACKAGE_INSTALL, why="pacman -S"),
    only("pacman -Ss x", C.READ, why="pacman -Ss searches"),
    only("npx prettier .", C.PACKAGE_INSTALL, why="npx downloads and runs"),
    only("pnpm dlx x", C.PACKAGE_INSTALL, why="pnpm dlx"),
    only("yarn dlx x", C.PACKAGE_INSTALL, why="yarn dlx"),
    only("bunx x", C.PACKAGE_INSTALL, why="bunx"),
    only("uvx ruff", C.PACKAGE_INSTALL, why="uvx"),
    only("uv tool run ruff", C.PACKAGE_INSTALL, why="uv tool run"),
    only("pipx run x", C.PACKAGE_INSTALL, why="pipx run"),
    only("pipx install x", C.PACKAGE_INSTALL, why="pipx install"),
    only("uv run pytest", C.TEST_BUILD, why="uv run runs its command"),
    only("poetry run pytest", C.TEST_BUILD, why="poetry run runs its command"),
    only("bundle exec rspec", C.TEST_BUILD, why="bundle exec runs its command"),
    only("conda run -n env pytest -x", C.TEST_BUILD, why="conda run"),
    case("uv run --with x pytest", C.PACKAGE_INSTALL, C.TEST_BUILD, why="uv --with"),
    # The network.
    only("curl -s http://127.0.0.1:9/", C.NETWORK, why="curl"),
    only("wget -qO- u", C.NETWORK, why="wget to stdout"),
    only("ssh host ls", C.NETWORK, why="ssh"),
    only("scp host:x /tmp/", C.NETWORK, C.EDIT, why="scp to a private dir"),
    only("rsync -a src/ host:dst", C.NETWORK, why="rsync to a host"),
    only("rsync -a src/ backup/", C.EDIT, why="rsync between local dirs"),
    only("nc -z host 22", C.NETWORK, why="nc"),
    only("ncat host 22", C.NETWORK, why="ncat"),
    only("socat - TCP:host:22", C.NETWORK, why="socat"),
    only("telnet host", C.NETWORK, why="telnet"),
    only("ftp host", C.NETWORK, why="ftp"),
    only("ping -c1 host", C.NETWORK, why="ping"),
    only("dig x", C.NETWORK, why="dig"),
    only("nslookup x", C.NETWORK, why="nslookup"),
    only("http GET u", C.NETWORK, why="httpie"),
    only("gh pr list", C.NETWORK, why="gh"),
    only("aws s3 ls", C.NETWORK, why="aws"),
    only("gcloud compute instances list", C.NETWORK, why="gcloud"),
    only("az vm list", C.NETWORK, why="az"),
    only("kubectl get pods", C.NETWORK, why="kubectl"),
    only("helm install x y", C.NETWORK, why="helm"),
    only("terraform plan", C.NETWORK, why="terraform plan"),
    case("ssh -o ProxyCommand='x' h", C.EXEC_OVERRIDE, C.NETWORK, why="ProxyCommand"),
    case("rsync -e 'sh -c x' a h:b", C.EXEC_OVERRIDE, why="rsync -e a command"),
    only("rsync -e ssh a h:b", C.NETWORK, why="rsync -e ssh"),
    only("rsync -e 'ssh -p 22' a h:b", C.NETWORK, why="rsync -e ssh, options"),
    case("rsync -e $'ssh\\u00a0x' a h:b", C.EXEC_OVERRIDE, why="rsync -e 'ssh x'"),
    case("rsync -e $'ssh\\tx' a h:b", C.EXEC_OVERRIDE, why="rsync splits at spaces"),
    case("rsync -e 'ssh -o ProxyCommand=x' a h:b", C.EXEC_OVERRIDE, why="ssh -o in -e"),
    case("rsync -e 'ssh -o \"ProxyCommand=x\"' a h:b", C.EXEC_OVERRIDE, why="quoted"),
    case("rsync -e 'ssh -F cfg' a h:b", C.EXEC_OVERRIDE, why="rsync's ssh -F"),
    case("rsync -e 'ssh -o \"x' a h:b", C.EXEC_OVERRIDE, why="an open quote"),
    only("rsync -e 'ssh -o StrictHostKeyChecking=no' a h:b", C.NETWORK, why="plain"),
    case("ssh -o '\"ProxyCommand\"=x' h", C.EXEC_OVERRIDE, why="a quoted keyword"),
    case("ssh -o ' proxycommand x' h", C.EXEC_OVERRIDE, why="a keyword after blanks"),
    case("ssh -o 'ProxyCommand\"x' h", C.EXEC_OVERRIDE, why="a quote ends a keyword"),
    case("ssh -o PKCS11Provider=/w/x.so h", C.EXEC_OVERRIDE, why="a library ssh loads"),
    case("ssh -oSecurityKeyProvider=k h", C.EXEC_OVERRIDE, why="a library ssh loads"),
    case("scp -o '\"LocalCommand\"=x' a h:b", C.EXEC_OVERRIDE, why="scp, quoted"),
    only("ssh -o 'StrictHostKeyChecking no' h", C.NETWORK, why="keyword and value"),
    case("nc -e /bin/sh h 1", C.NETWORK, C.UNMODELLED, why="nc -e attaches a shell"),
    case("rg --pre 'sudo' x", C.EXEC_OVERRIDE, C.PRIVILEGE, why="rg --pre"),
    case("man -P 'x' ls", C.EXEC_OVERRIDE, why="man -P names a pager"),
    case("man --html=x ls", C.EXEC_OVERRIDE, why="man --html names a browser"),
    case("sed -f x.sed f", C.EXECUTE, why="sed -f runs a script file"),
    case("tar --to-command='sudo id' -xf a.tar", C.PRIVILEGE, why="tar --to-command"),
    case("tar -I 'sudo id' -cf a.tar x", C.PRIVILEGE, why="tar -I"),
    case("zip -TT 'sudo id' a.zip b", C.PRIVILEGE, why="zip -TT"),
    case("tar -cf a.tar host:/x", without=[C.NETWORK], why="an operand is no archive"),
    case("tar -xf host:/a.tar", C.NETWORK, why="a remote archive"),
    # Secrets.
    only("gpg -d x.gpg", C.SECRET, why="gpg"),
    only("pass show x", C.SECRET, why="pass"),
    only("op read op://x", C.SECRET, why="1password"),
    only("vault kv get x", C.SECRET, why="vault"),
    only("security find-generic-password -s x", C.SECRET, why="macOS keychain"),
    only("keyring get x y", C.SECRET, why="keyring"),
    only("ssh-add -l", C.SECRET, why="ssh-add"),
    only("ssh-keygen -t ed25519", C.SECRET, why="ssh-keygen into ~/.ssh"),
    only("ssh-keygen -t ed25519 -f deploy_key", C.EDIT, why="ssh-keygen -f FILE"),
    only("gh auth token", C.SECRET, why="gh auth token"),
    only("gh auth status", C.NETWORK, why="gh auth status without the token"),
    only("gh auth status -t", C.SECRET, why="gh auth status -t shows the token"),
    only("aws configure get x", C.SECRET, why="aws configure"),
    only("kubectl get secret x -o yaml", C.SECRET, why="kubectl get secret"),
    only("curl -n u", C.SECRET, C.NETWORK, why="curl --netrc"),
    only("npm login", C.SECRET, why="npm login"),
    only("docker login", C.SECRET, why="docker login"),
    # Privilege.
    case("chown root x", C.PRIVILEGE, why="chown"),
    case("chmod u+s x", C.PRIVILEGE, why="chmod u+s"),
    case("chmod 4755 x", C.PRIVILEGE, why="chmod 4755"),
    case("chmod g+s x", C.PRIVILEGE, why="chmod g+s"),
    only("chmod +x x", C.EDIT, why="chmod +x"),
    only("chmod -x x", C.EDIT, why="chmod -x, a mode that looks like an option"),
    only("chmod 755 x", C.EDIT, why="chmod 755"),
    case("chattr +i x", C.PRIVILEGE, why="chattr"),
    only("setcap cap_net_raw+ep x", C.PRIVILEGE, why="setcap"),
    only("mount /dev/sdb1 /mnt", C.PRIVILEGE, why="mount"),
    only("umount /mnt", C.PRIVILEGE, why="umount"),
    only("systemctl restart nginx", C.PRIVILEGE, why="systemctl restart"),
    only("systemctl --user start x", C.PRIVILEGE, why="systemctl --user start"),
    only("crontab jobs.txt", C.PRIVILEGE, why="crontab installs"),
    only("at now + 1 minute", C.PRIVILEGE, why="at"),
    only("shutdown -h now", C.PRIVILEGE, why="shutdown"),
    only("reboot", C.PRIVILEGE, why="reboot"),
    only("useradd bob", C.PRIVILEGE, why="useradd"),
    only("docker run -it x", C.PRIVILEGE, why="docker"),
    only("podman run x", C.PRIVILEGE, why="podman"),
    only("sysctl -w a=b", C.PRIVILEGE, why="sysctl -w"),
    only("sysctl a", C.READ, why="sysctl reads"),
    only("date -s 'x'", C.PRIVILEGE, why="date -s"),
    only("hostname x", C.PRIVILEGE, why="hostname NAME"),
    only("corral approve 0123456789ab", C.PRIVILEGE, why="corral approve"),
    only("corral check -- ls", C.READ, why="corral check"),
    case("corral run -- sudo id", C.PRIVILEGE, why="corral run's command"),
    case("corral run --sandbox full-access -- ls", C.ESCALATION, why="a weaker mode"),
    # Edits.
    only("touch x", C.EDIT, why="touch"),
    only("mkdir -p a/b", C.EDIT, why="mkdir"),
    only("cp a b", C.EDIT, why="cp"),
    only("cp -t dir a b", C.EDIT, why="cp -t"),
    only("mv a b", C.EDIT, why="mv"),
    only("ln -s a b", C.EDIT, why="ln -s"),
    only("rm x", C.EDIT, why="rm"),
    only("sed -i s/a/b/ README", C.EDIT, why="sed -i"),
    only("tee out", C.READ, C.EDIT, why="tee"),
    only("truncate -s 0 x", C.EDIT, why="truncate"),
    only("patch -p1 < x.patch", C.EDIT, why="patch"),
    only("tar -xzf a.tgz", C.READ, C.EDIT, why="tar -x"),
    only("tar xzf a.tgz", C.READ, C.EDIT, why="old-style tar"),
    only("tar -czf a.tgz src", C.READ, C.EDIT, why="tar -c"),
    only("unzip a.zip", C.EDIT, why="unzip"),
    only("gzip x", C.READ, C.EDIT, why="gzip"),
    only("vim x", C.EDIT, why="vim"),
    case("vim -c '!sudo id' x", C.EXECUTE, why="vim -c runs commands"),
    only("mktemp", C.EDIT, why="mktemp"),
    only("mkdir $(mktemp -d)/x", C.OUTSIDE_WRITE, C.EDIT, why="a computed target"),
    # Destroyers.
    case("shred x", C.DESTRUCTIVE, why="shred"),
    case("mkfs /dev/sdb", C.DESTRUCTIVE, why="mkfs"),
    case("wipefs -a /dev/sdb", C.DESTRUCTIVE, why="wipefs"),
    case("fdisk /dev/sdb", C.DESTRUCTIVE, why="fdisk"),
]


@pytest.mark.parametrize(("line", "has", "without"), TABLE)
def test_programs_are_sorted_by_what_they_do(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


def test_no_program_is_in_two_tables() -> None:
    tables = [
        SHELL_PROGRAMS,
        WRAPPERS,
        FILE_PROGRAMS,
        DEV_PROGRAMS,
        PACKAGE_PROGRAMS,
        NETWORK_PROGRAMS,
        SYSTEM_PROGRAMS,
        GIT_PROGRAMS,
    ]
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        for name in table:
            assert name not in seen, f"{name} is in tables {seen[name]} and {index}"
            seen[name] = index


SCRIPTS = [
    ("npm test", ["package.json", ".npmrc"], ("package.json", ".npmrc")),
    ("npm run build", ["package.json"], ("package.json",)),
    ("yarn test", ["package.json", ".yarnrc.yml"], ("package.json", ".yarnrc.yml")),
    ("pnpm test", ["package.json"], ("package.json",)),
    ("make", ["Makefile"], ("Makefile",)),
    ("make", ["GNUmakefile", "Makefile"], ("GNUmakefile",)),
    ("make -f other.mk", ["other.mk", "Makefile"], ("other.mk",)),
    ("make -C sub", ["sub/Makefile"], ("sub/Makefile",)),
    ("pytest", ["conftest.py", "pyproject.toml"], ("conftest.py", "pyproject.toml")),
    ("pytest", ["tests/conftest.py"], ("tests/conftest.py",)),
    ("pytest sub/t.py", ["sub/conftest.py"], ("sub/conftest.py",)),
    ("tox", ["tox.ini"], ("tox.ini",)),
    ("nox", ["noxfile.py"], ("noxfile.py",)),
    ("cargo test", ["Cargo.toml", "build.rs"], ("Cargo.toml", "build.rs")),
    ("just", ["justfile"], ("justfile",)),
    ("bash build.sh", ["build.sh"], ("build.sh",)),
    ("./build.sh", ["build.sh"], ("build.sh",)),
    ("npm test", [], ()),
    ("make", [], ()),
    # What an install installs is written in the project's files.
    ("pip install -r req.txt -c c.txt", ["req.txt", "c.txt"], ("req.txt", "c.txt")),
    ("pip install --requirement=req.txt", ["req.txt"], ("req.txt",)),
    ("pip install .", ["pyproject.toml", "setup.py"], ("pyproject.toml", "setup.py")),
    ("pip install -e .", ["setup.cfg"], ("setup.cfg",)),
    ("pip install -e 'sub[dev]'", ["sub/pyproject.toml"], ("sub/pyproject.toml",)),
    ("pip install ./sub", ["sub/setup.py"], ("sub/setup.py",)),
    ("pip install requests", ["pyproject.toml"], ()),
    ("pip download -r req.txt", ["req.txt"], ("req.txt",)),
    ("uv pip install -r req.txt", ["req.txt"], ("req.txt",)),
    ("uv pip sync req.txt", ["req.txt"], ("req.txt",)),
    ("uv sync", ["pyproject.toml", "uv.lock"], ("pyproject.toml", "uv.lock")),
    (
        "poetry install",
        ["pyproject.toml", "poetry.lock"],
        ("pyproject.toml", "poetry.lock"),
    ),
    (
        "npm install",
        ["package.json", "package-lock.json"],
        ("package.json", "package-lock.json"),
    ),
    ("npm ci", ["npm-shrinkwrap.json"], ("npm-shrinkwrap.json",)),
    ("yarn", ["package.json", "yarn.lock"], ("package.json", "yarn.lock")),
    ("yarn install", ["yarn.lock"], ("yarn.lock",)),
    ("pnpm install", ["pnpm-lock.yaml"], ("pnpm-lock.yaml",)),
    ("bun install", ["bun.lock"], ("bun.lock",)),
    ("bundle", ["Gemfile", "Gemfile.lock"], ("Gemfile", "Gemfile.lock")),
    ("bundle install", ["Gemfile"], ("Gemfile",)),
    ("go mod download", ["go.mod", "go.sum"], ("go.mod", "go.sum")),
    (
        "cargo install --path .",
        ["Cargo.toml", "Cargo.lock"],
        ("Cargo.toml", "Cargo.lock"),
    ),
]


@pytest.mark.parametrize(
    ("line", "files", "expected"),
    SCRIPTS,
    ids=[f"{line} with {files or 'no files'}" for line, files, _ in SCRIPTS],
)
def test_runners_name_the_files_that_decide_what_they_run(
    classifier: Classifier,
    workspace: Path,
    line: str,
    files: list[str],
    expected: tuple[str, ...],
) -> None:
    for name in files:
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("x\n")
    findings = classifier.text(line)
    named = {name for f in findings for name in f.scripts}
    assert named == set(expected), findings


def test_scripts_are_workspace_relative_from_a_subdirectory(
    classifier: Classifier, workspace: Path
) -> None:
    (workspace / "package.json").write_text("{}\n")
    findings = classifier.text("npm test", cwd=workspace / "src")
    assert findings[0].scripts == ("package.json",)


OPTIONS = spec("-o --output -t", "-r -f -v --verbose --force", "-i --color")


@pytest.mark.parametrize(
    ("words", "options", "operands"),
    [
        ("-rf a", [("-r", None), ("-f", None)], ["a"]),
        ("-o out a", [("-o", "out")], ["a"]),
        ("-oout a", [("-o", "out")], ["a"]),
        ("-vo out a", [("-v", None), ("-o", "out")], ["a"]),
        ("--output=out a", [("--output", "out")], ["a"]),
        ("--output out a", [("--output", "out")], ["a"]),
        ("--out out a", [("--output", "out")], ["a"]),
        ("--verb a", [("--verbose", None)], ["a"]),
        ("a -r b", [("-r", None)], ["a", "b"]),
        ("-- -r a", [], ["-r", "a"]),
        ("-i a", [("-i", None)], ["a"]),
        ("-ix a", [("-i", "x")], ["a"]),
        ("--color a", [("--color", None)], ["a"]),
        ("- a", [], ["-", "a"]),
    ],
    ids=[
        "combined flags",
        "a value in the next word",
        "an attached value",
        "a flag then a valued option",
        "a long option with =",
        "a long option then its value",
        "an abbreviated long option",
        "an abbreviated long flag",
        "options after operands",
        "-- ends options",
        "an optional value left out",
        "an optional value attached",
        "an optional long value left out",
        "a lone dash is an operand",
    ],
)
def test_options_are_read_as_getopt_reads_them(
    words: str, options: list[tuple[str, str | None]], operands: list[str]
) -> None:
    parsed = parse_options([Word(w) for w in words.split()], OPTIONS)
    assert [(n, v.text if v else None) for n, v in parsed.options] == options
    assert [w.text for w in parsed.operands] == operands


def test_a_dynamic_word_is_never_an_option() -> None:
    words = [Word("-$X", WordKind.DYNAMIC), Word("-r")]
    parsed = parse_options(words, OPTIONS)
    assert [w.text for w in parsed.operands] == ["-$X"]


def test_without_permutation_the_first_operand_ends_options() -> None:
    parsed = parse_options(
        [Word(w) for w in ["-r", "cmd", "-f"]], spec("", "-r -f", permute=False)
    )
    assert parsed.rest == 1
    assert [w.text for w in parsed.operands] == ["cmd", "-f"]


def test_unknown_options_are_reported() -> None:
    parsed = parse_options([Word("-rZ"), Word("--frob")], OPTIONS)
    assert parsed.unknown == ["-Z", "--frob"]


def test_the_first_operand_skips_valued_options() -> None:
    argv = tuple(Word(w) for w in ["git", "-C", "dir", "--git-dir=x", "status"])
    assert first_operand(argv, spec("-C --git-dir")) == 4
