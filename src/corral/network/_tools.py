"""How the tools inside the sandbox are pointed at the proxy: their variables.

Most tools read the conventional ``*_proxy`` variables; a few have their own
names for the same setting.  No SOCKS proxy is announced (``ALL_PROXY``):
some package managers refuse to run with one they cannot use.
"""

from __future__ import annotations

from corral.network._bridge import BRIDGE_PORT

__all__ = ["PROXY_URL", "proxy_environment"]

PROXY_URL = f"http://127.0.0.1:{BRIDGE_PORT}"

# Names whose values point a tool at a proxy; the host's are never passed in
# allow-list mode (they name a proxy the sandbox cannot reach, or a SOCKS one).
_REPLACED = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "ftp_proxy",
    "FTP_PROXY",
    "no_proxy",
    "NO_PROXY",
)
_URL_NAMES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "npm_config_proxy",
    "npm_config_https_proxy",
    "YARN_HTTP_PROXY",
    "YARN_HTTPS_PROXY",
    "CARGO_HTTP_PROXY",
    "CORRAL_PROXY",
)
# The sandbox's own loopback is reached directly: a test's local server.
_DIRECT = "localhost,127.0.0.1,::1"


def proxy_environment(environment: dict[str, str]) -> dict[str, str]:
    """Return `environment` with every proxy variable pointing at the bridge."""
    result = {k: v for k, v in environment.items() if k not in _REPLACED}
    result.update(dict.fromkeys(_URL_NAMES, PROXY_URL))
    result["no_proxy"] = result["NO_PROXY"] = _DIRECT
    return result
