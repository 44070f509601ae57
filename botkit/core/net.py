"""Small network helpers shared by the server, the sandbox and the CLI (no pipeline logic)."""

import ipaddress


def local_url(host: str, port: int, path: str = "") -> str:
    """A URL for a server bound to host that a client on this machine can call.

    A wildcard bind address (0.0.0.0, ::) is not something to print or to call, so it becomes
    the loopback address.
    """
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}{path}"


def is_loopback(host: str) -> bool:
    """Whether a server bound to host can be reached from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a wildcard ("", 0.0.0.0 is an address) or another name
        return False
