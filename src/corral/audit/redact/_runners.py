"""Where the programs of one command's words are: past wrappers and runners.

``sudo mysql -pX`` runs mysql; so do ``docker exec db mysql -pX``,
``kubectl exec pod -- mysql -pX`` and ``ssh host mysql -pX``.  Options are
skipped by the few each runner takes a value for; an option unknown here
counts as a flag, which can only end the search early, never mask a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

# Wrappers that run the command after their options (option -> takes a value),
# and the shell's words that may come before a command.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "exec": frozenset({"-a"}),
    "time": frozenset({"-f", "-o"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s"}),
    "watch": frozenset({"-n", "--interval"}),
    "strace": frozenset({"-e", "-o", "-p", "-s", "-u", "-a", "-b", "-E", "-I", "-P"}),
    "ltrace": frozenset({"-e", "-o", "-p", "-s", "-u", "-a", "-n", "-l"}),
    "nsenter": frozenset({"-t", "--target", "-S", "-G", "--setuid", "--setgid"}),
    "chroot": frozenset({"--userspec", "--groups"}),
    **dict.fromkeys(
        ("command", "nohup", "!", "{", "if", "then", "do", "else", "elif", "while"),
        frozenset[str](),
    ),
}

# Words after a wrapper's options that come before its command.
_POSITIONALS = {"timeout": 1, "chroot": 1}

_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=", re.ASCII)

# Container tools: global options, and those of exec and run, taking a value.
_CONTAINER_GLOBAL = frozenset(
    {"-H", "--host", "-c", "--context", "--config", "-l", "--log-level", "--url"}
    | {"--tlscacert", "--tlscert", "--tlskey", "--connection", "--root"}
)
_CONTAINER_VALUED = frozenset(
    {"-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "-v"}
    | {"--volume", "-p", "--publish", "--name", "--network", "--net", "--mount"}
    | {"-l", "--label", "-h", "--hostname", "-m", "--memory", "--cpus", "--gpus"}
    | {"--entrypoint", "--platform", "--restart", "--add-host", "--device"}
    | {"--cap-add", "--cap-drop", "--security-opt", "--ulimit", "--shm-size"}
    | {"--tmpfs", "--pull", "--dns", "--ip", "--log-driver", "--log-opt"}
    | {"--runtime", "--group-add", "--pid", "--ipc", "--userns", "--detach-keys"}
    | {"--secret", "--stop-signal", "--expose", "--link", "--cidfile"}
)
_COMPOSE_VALUED = frozenset(
    {"-f", "--file", "-p", "--project-name", "--env-file", "--profile"}
    | {"--project-directory"}
)
_SSH_VALUED = frozenset(f"-{letter}" for letter in "bcDEeFIiJLlmOopQRSWwB")


def _options(words: Sequence[str], index: int, valued: frozenset[str]) -> int:
    """The index after the options at `index`, those in `valued` with their value."""
    while index < len(words) and words[index][:1] == "-" and words[index] != "-":
        option = words[index]
        index += 2 if option in valued else 1
        if option == "--":
            break
    return index


def _container(words: Sequence[str], index: int) -> int | None:
    """docker/podman [opts] [container|compose [opts]] exec|run [opts] NAME CMD."""
    index = _options(words, index, _CONTAINER_GLOBAL)
    if words[index : index + 1] == ["container"]:
        index += 1
    elif words[index : index + 1] == ["compose"]:
        index = _options(words, index + 1, _COMPOSE_VALUED)
    if words[index : index + 1] not in (["exec"], ["run"]):
        return None
    index = _options(words, index + 1, _CONTAINER_VALUED)
    return index + 1  # past the container, image or service


def _kubectl(words: Sequence[str], index: int) -> int | None:
    """kubectl ... exec|run ... -- CMD."""
    if not {"exec", "run", "debug"} & set(words[index:]):
        return None
    for at in range(index, len(words)):
        if words[at] == "--":
            return at + 1
    return None


def _ssh(words: Sequence[str], index: int) -> int | None:
    """ssh [opts] HOST CMD: the remote command, given as words."""
    return _options(words, index, _SSH_VALUED) + 1


_RUNNERS: dict[str, Callable[[Sequence[str], int], int | None]] = {
    **dict.fromkeys(("docker", "podman", "nerdctl"), _container),
    **dict.fromkeys(("kubectl", "oc"), _kubectl),
    "ssh": _ssh,
}


def _skip_wrappers(words: Sequence[str], index: int = 0) -> int:
    """Where the program is in `words` from `index`: after assignments and wrappers."""
    while index < len(words):
        word = words[index]
        if _ASSIGNMENT.match(word):
            index += 1
            continue
        wrapper = word.rpartition("/")[2]
        valued = _WRAPPERS.get(wrapper)
        if valued is None:
            break
        index = _options(words, index + 1, valued) + _POSITIONALS.get(wrapper, 0)
    return index


def _command_starts(words: Sequence[str]) -> Iterator[int]:
    """Where each program in `words` is: the command's, then each one it runs."""
    index = _skip_wrappers(words)
    while index < len(words) - 1:
        yield index
        runner = _RUNNERS.get(words[index].rpartition("/")[2])
        after = runner(words, index + 1) if runner is not None else None
        if after is None or after <= index:
            return
        index = _skip_wrappers(words, after)
