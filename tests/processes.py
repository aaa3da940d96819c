"""What /proc says about processes, for tests that check nothing is left running."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["alive", "children_of", "command_line", "mentioning", "parent_of", "uid_of", "wait_gone"]


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise LookupError(f"no Uid line for {pid}")


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def children_of(pid: int) -> set[int]:
    children = set()
    for candidate in _pids():
        try:
            if parent_of(candidate) == pid:
                children.add(candidate)
        except (FileNotFoundError, ProcessLookupError):  # ended while we looked
            continue
    return children


def mentioning(text: str) -> set[int]:
    """Every process whose command line contains `text` (daemonized ones too, whoever their parent)."""
    found = set()
    for pid in _pids():
        try:
            if text.encode() in command_line(pid):
                found.add(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def alive(pids: Iterable[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def wait_gone(pids: Iterable[int], timeout: float = 60.0) -> set[int]:
    """Those of `pids` still alive after up to `timeout` seconds (empty once all have ended)."""
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
