"""HTTP/1.1 on one asyncio connection that the test holds: it knows both ends' addresses, so
`tests.accepted_sockets` can tell which server process accepted it (httpx hides its sockets)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Self
from urllib.parse import urlsplit

__all__ = ["RawConnection"]


class RawConnection:
    """One kept-alive connection: `await request(...)` as often as needed, then `close()`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host
        sock = writer.get_extra_info("socket")
        self.client_address: tuple[str, int] = sock.getsockname()
        self.server_address: tuple[str, int] = sock.getpeername()

    @classmethod
    async def open(cls, url: str) -> Self:
        where = urlsplit(url)
        assert where.hostname is not None and where.port is not None
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        return cls(reader, writer, where.netloc)

    async def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, decoded JSON body, or the text when it is not JSON)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {
            name.lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])
        }
        content = await self._reader.readexactly(int(fields.get("content-length", "0")))
        try:
            decoded: Any = json.loads(content)
        except ValueError:
            decoded = content.decode()
        return int(head[0].split()[1]), decoded

    def close(self) -> None:
        self._writer.close()
