"""A private PostgreSQL for tests and benches: its own data dir, port and socket dir, gone after `stop()`.

    server = start_postgres()                  # initdb + postgres from Debian's binaries (`make postgres`)
    url = await server.create_database("t1")   # postgresql://postgres@127.0.0.1:PORT/t1
    async with server.fresh_database() as url: ...   # a uniquely named one, dropped afterwards
    server.stop()                              # fast shutdown (killed on timeout), directory removed

The instance never touches the system cluster or its port. PostgreSQL refuses to run as root, so
when we are root the temp dir is handed to the `postgres` OS user and initdb/postgres run as it
(through `setpriv`, which execs: the child we hold *is* the postmaster, so a signal reaches it and
nothing sits between). The postmaster also gets a parent-death signal, so a test runner killed
outright does not leave it behind. Durability is off (fsync, synchronous_commit): a crash loses a
throwaway directory.

It lives beside the tests rather than in `mock_building`: a carrier runs its own PostgreSQL, so this
harness is no part of what ships; the benches import it as they import `tests.building_process`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

__all__ = ["PostgresServer", "PostgresStartError", "free_port", "postgres_bin_dir", "start_postgres"]

SUPERUSER = "postgres"
_OS_USER = "postgres"  # who runs the server when we are root (Debian's package creates it)
_READY_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 20.0
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "log_min_messages": "warning",
}


class PostgresStartError(RuntimeError):
    """initdb failed or the server did not come up; nothing of the attempt is left running or on disk."""


def postgres_bin_dir() -> Path:
    """The newest Debian PostgreSQL (`/usr/lib/postgresql/N/bin`), else initdb's directory on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresStartError("PostgreSQL is not installed: `make postgres` installs Debian's package")
    return Path(initdb).resolve().parent


@dataclass
class PostgresServer:
    """A running private instance: where to reach it and how to take it down."""

    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """A new empty database; returns its URL. `name` must be a plain identifier."""
        await self._admin(f'CREATE DATABASE "{_identifier(name)}"')
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        """Drop it even if a test left connections open (FORCE ends them)."""
        await self._admin(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.url())
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    @contextlib.asynccontextmanager
    async def fresh_database(self) -> AsyncIterator[str]:
        """A new empty database for one test or bench cell: its URL, then it is dropped."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        url = await self.create_database(name)
        try:
            yield url
        finally:
            await self.drop_database(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT); immediate (SIGQUIT) then SIGKILL if it hangs; then remove the directory."""
        try:
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
                if self.process.poll() is not None:
                    break
                self.process.send_signal(sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=_STOP_TIMEOUT_S)
            self.process.wait()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_postgres(
    *, port: int | None = None, host: str = "127.0.0.1", prefix: str = "lobbykey-pg-"
) -> PostgresServer:
    """initdb a fresh cluster in a new temp dir and start it; returns once it accepts connections.

    Call it from a thread that outlives the server (the main thread): the postmaster's parent-death
    signal fires when the thread that started it ends.
    """
    bin_dir = postgres_bin_dir()
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    process: subprocess.Popen[bytes] | None = None
    try:
        as_user = _run_as()
        if as_user is not None:
            os.chown(directory, as_user.pw_uid, as_user.pw_gid)
        (directory / "socket").mkdir()
        if as_user is not None:
            os.chown(directory / "socket", as_user.pw_uid, as_user.pw_gid)
        _initdb(bin_dir, directory, as_user)
        port = port or free_port(host)
        settings = {**_SETTINGS, "listen_addresses": host, "port": str(port)}
        settings["unix_socket_directories"] = str(directory / "socket")
        with (directory / "server.log").open("wb") as log:
            process = subprocess.Popen(
                [*_as(as_user), str(bin_dir / "postgres"), "-D", str(directory / "data")]
                + [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
            )
        server = PostgresServer(host, port, directory, process)
        _wait_ready(server)
        return server
    except BaseException:
        if process is not None:
            PostgresServer(host, port or 0, directory, process).stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _run_as() -> pwd.struct_passwd | None:
    """The OS user to run the server as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_OS_USER)
    except KeyError:
        raise PostgresStartError(
            f"running as root and there is no {_OS_USER!r} OS user to run PostgreSQL as "
            "(Debian's postgresql package creates it: `make postgres`)"
        ) from None


def _as(user: pwd.struct_passwd | None) -> list[str]:
    """setpriv execs the command (no process in between) with the parent-death signal set last."""
    drop = [] if user is None else [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
    return ["setpriv", *drop, "--pdeathsig", "INT", "--"]


def _initdb(bin_dir: Path, directory: Path, user: pwd.struct_passwd | None) -> None:
    command = [
        *_as(user),
        str(bin_dir / "initdb"),
        "-D",
        str(directory / "data"),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--no-sync",
        "--no-instructions",
        "-E",
        "UTF8",
        "--locale=C",
    ]
    done = subprocess.run(command, capture_output=True, cwd=directory, check=False, timeout=_READY_TIMEOUT_S)
    if done.returncode != 0:
        raise PostgresStartError(f"initdb failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


def _wait_ready(server: PostgresServer) -> None:
    """Ready when postmaster.pid's status line says so (what `pg_ctl -w` reads) and the port answers."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    pid_file = server.data_dir / "postmaster.pid"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = (server.directory / "server.log").read_text(errors="replace")
            raise PostgresStartError(
                f"postgres exited with {server.process.returncode} during start-up:\n{log[-2000:]}"
            )
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready" and _answers(server.host, server.port):
                return
        time.sleep(0.05)
    raise PostgresStartError(f"postgres did not accept connections within {_READY_TIMEOUT_S:.0f} s")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
