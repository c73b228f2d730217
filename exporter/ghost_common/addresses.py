"""Listen addresses (``HOST:PORT``), read once for every program; no imports beyond the
standard library, so that a CLI can check its flags before it loads its server."""

from __future__ import annotations


def split_host_port(text: str) -> tuple[str | None, int]:
    """``:PORT`` (every interface), ``HOST:PORT`` or ``[IPv6]:PORT``, as Go's
    ``net.SplitHostPort`` reads them (an IPv6 host needs its brackets); ValueError otherwise."""
    value = text.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep or not host:
            raise ValueError(f"invalid listen address {text!r}: use [IPv6]:PORT")
    else:
        host, sep, port = value.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(
                f"invalid listen address {text!r}: use HOST:PORT, :PORT or [IPv6]:PORT"
            )
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid listen address {text!r}: use HOST:PORT with a port of 0-65535")
    return (host or None), int(port)
