"""Loopback ports for servers that tests stop and start again at the same URL (devpi, the
fault proxy): below the kernel's ephemeral range, where no outgoing connection and no bind to
port 0 (another server, in this process or another) can take one while its server is down."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from release.pipeline.localindex import HOST


def quiet_port() -> int:
    """A free loopback port below the kernel's ephemeral range: no outgoing connection and no
    bind to port 0 (another server, a proxy) ever takes it while its server is stopped."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    ephemeral = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    pick = random.SystemRandom()
    for _ in range(100):
        port = pick.randrange(20000, ephemeral)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free loopback port in 20000-{ephemeral}")
