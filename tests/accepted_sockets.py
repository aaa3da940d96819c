"""Which process accepted a loopback connection, and that accepted socket's options, read from outside.

A connection's server end is found in /proc/net/tcp (by the client's address pair) and then in
/proc/PID/fd of the candidate processes; `pidfd_getfd` (Linux 5.6+) duplicates it into this process,
so `getsockopt` reads the very socket the server accepted. Needs ptrace rights over the process
(root, or the process is our descendant).
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Iterable
from pathlib import Path

__all__ = ["accepted_by", "nodelay_of"]

Address = tuple[str, int]
_SYS_PIDFD_GETFD = 438  # the same number on every architecture (new syscalls share one table)
_libc = ctypes.CDLL(None, use_errno=True)


def _hex_address(host: str, port: int) -> str:
    """/proc/net/tcp's form: the IPv4 address as a little-endian hex word, then the port."""
    return f"{int.from_bytes(socket.inet_aton(host), 'little'):08X}:{port:04X}"


def _inode_of_server_end(client: Address, server: Address) -> int:
    client_end, server_end = _hex_address(*client), _hex_address(*server)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == server_end and fields[2] == client_end:
            return int(fields[9])
    raise LookupError(f"no server end of {client} -> {server} in /proc/net/tcp")


def accepted_by(client: Address, server: Address, pids: Iterable[int]) -> tuple[int, int]:
    """(pid, fd) of the process among `pids` holding the accepted end of the client -> server connection."""
    link = f"socket:[{_inode_of_server_end(client, server)}]"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == link:
                    return pid, int(fd.name)
            except FileNotFoundError:
                continue
    raise LookupError(f"none of {list(pids)} holds {link}")


def nodelay_of(pid: int, fd: int) -> bool:
    """TCP_NODELAY of socket `fd` in process `pid` (a duplicate of the same socket, not a copy)."""
    pidfd = os.pidfd_open(pid)
    try:
        mine = _libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if mine < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"pidfd_getfd({pid}, {fd}): {os.strerror(errno)}")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=mine) as duplicate:
        return duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
