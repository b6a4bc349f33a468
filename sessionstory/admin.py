"""The admin socket: how a CLI command reaches a server that holds the data directory.

DuckDB lets one process write a file, so while the server runs, `sessionstory user
create` and friends send their command over a Unix socket in the data directory
(readable by its owner only) and the server runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import Any

import msgspec

from sessionstory.commands import CommandError, run
from sessionstory.datadir import DataDir
from sessionstory.handoff import HANDS

log = logging.getLogger(__name__)


class Request(msgspec.Struct):
    command: str
    args: dict[str, Any]


class Reply(msgspec.Struct):
    ok: bool
    output: str = ""
    error: str = ""


async def serve(dd: DataDir, path: Path) -> asyncio.AbstractServer:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a server that was killed

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = msgspec.json.decode(await reader.readline(), type=Request)
            output = await HANDS.run(run, dd, request.command, request.args)
            reply = Reply(ok=True, output=output)
        except (CommandError, msgspec.DecodeError, TypeError) as exc:
            reply = Reply(ok=False, error=str(exc))
        except Exception as exc:
            log.exception("admin command failed")
            reply = Reply(ok=False, error=f"the server could not do that: {exc}")
        writer.write(msgspec.json.encode(reply) + b"\n")
        await writer.drain()
        writer.close()

    old_umask = os.umask(0o177)  # the socket is created 0600: only the data dir's owner may use it
    try:
        server = await asyncio.start_unix_server(handle, path=str(path))
    finally:
        os.umask(old_umask)
    return server


def call(path: Path, command: str, args: dict[str, Any], timeout: float = 600) -> str | None:
    """Run a command in the server owning `path`; None when no server is listening."""
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None
    with sock:
        sock.settimeout(timeout)
        sock.sendall(msgspec.json.encode(Request(command, args)) + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = msgspec.json.decode(data, type=Reply)
    if not reply.ok:
        raise CommandError(reply.error)
    return reply.output
