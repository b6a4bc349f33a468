"""The files under /static, named by their content so that browsers keep them.

A page names each of our bundles as `asset("dist/player.js")`: `/static/dist/player.js?v=<digest
of its bytes>`. A URL whose `v` is the file's digest now, or a chunk esbuild named by its hash
(`dist/player-chunks/`), can never name other bytes, so it is served as immutable for a year:
a second opening of a session reads the player from the browser's cache (and V8's code cache
beside it) without a request. Anything else under /static (a stale `v` from a tab opened before
an upgrade, a URL without one) is still served, with `no-cache`: the browser asks again each
time, and an unchanged file is a 304 on its ETag. The HTML naming the URLs is not cached that way.

A bundle goes compressed when the browser takes it (web/encoding.py): the same URL, one ETag per encoding.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from litestar import Request, get, head
from litestar.exceptions import NotFoundException
from litestar.file_system import BaseLocalFileSystem
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response.base import ASGIResponse
from litestar.response.file import ASGIFileResponse
from litestar.static_files import StaticFiles
from litestar.types.file_types import FileInfo

from sessionstory.web.encoding import choose, has_copies

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# build.mjs names the player's chunks "player-chunks/[name]-[hash]": their names already say their bytes.
HASH_NAMED = ("dist/player-chunks/",)


@dataclass(frozen=True)
class Fingerprint:
    """A file's digest, with the size and mtime it had when its bytes were read."""

    digest: str
    size: int
    mtime: float


class Assets:
    """What /static serves, and the content-named URL of each file a page links."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files = StaticFiles(is_html_mode=False, directories=[self.root], file_system=BaseLocalFileSystem())
        # Filled on first use and kept: a page names a handful of files, read once per process.
        self._known: dict[Path, Fingerprint] = {}

    def url(self, name: str) -> str:
        """The URL a page gives for `name` (relative to /static): by its content, or plain if it is not built."""
        path = self.root / name
        known = self._known.get(path) or _fingerprint(path, self._known)
        return f"/static/{name}?v={known.digest}" if known else f"/static/{name}"

    def cache_control(self, name: str, path: Path, version: str | None, info: FileInfo) -> str:
        """Immutable only when the URL can name these bytes alone; else revalidate on each use."""
        if name.startswith(HASH_NAMED):
            return IMMUTABLE
        if not version:
            return REVALIDATE
        known = self._known.get(path)
        if known is None or (known.size, known.mtime) != (info["size"], info["mtime"]):  # rebuilt, or never named
            known = _fingerprint(path, self._known)
        return IMMUTABLE if known is not None and known.digest == version else REVALIDATE

    def routes(self) -> list[HTTPRouteHandler]:
        """GET and HEAD of /static/{file_path}."""

        @get("/static/{file_path:path}", include_in_schema=False)
        async def static_get(request: Request, file_path: FromPath[PurePath]) -> ASGIResponse:  # type: ignore[type-arg]
            file = await self._file(request, file_path, is_head=False)
            if request.headers.get("if-none-match") == file.headers["etag"]:
                return ASGIResponse(status_code=304, headers=_revalidated(file))
            return file

        # litestar lets a HEAD handler return nothing but a file (no 304 answer): HEAD is not what browsers revalidate with.
        @head("/static/{file_path:path}", include_in_schema=False)
        async def static_head(request: Request, file_path: FromPath[PurePath]) -> ASGIFileResponse:  # type: ignore[type-arg]
            return await self._file(request, file_path, is_head=True)

        return [static_get, static_head]

    async def _file(self, request: Request, file_path: PurePath, is_head: bool) -> ASGIFileResponse:  # type: ignore[type-arg]
        """The file's response, its ETag and cache policy set. litestar's StaticFiles finds the file (never
        outside the root) and streams it."""
        file = await self._files.handle(path=file_path.as_posix(), is_head_response=is_head)
        info = file.file_info
        if not isinstance(info, dict):
            raise NotFoundException()  # handle() always passes the stat it made; anything else is no file of ours
        path = Path(file.file_path)
        cache_control = self.cache_control(path.relative_to(self.root).as_posix(), path,
                                           request.query_params.get("v"), info)
        chosen = choose(path, request.headers.get("accept-encoding", ""))
        if chosen.encoding:
            copy_info = await self._files.adapter.parse_stat_result(result=chosen.stat, path=chosen.path)
            file = ASGIFileResponse(file_path=chosen.path, file_info=copy_info, filename=path.name,
                                    content_disposition_type="inline", is_head_response=is_head,
                                    headers={"content-encoding": chosen.encoding})
        if chosen.encoding or has_copies(path):
            file.headers["vary"] = "Accept-Encoding"
        file.headers["etag"] = chosen.etag
        file.headers["cache-control"] = cache_control
        return file


def _revalidated(file: ASGIFileResponse) -> dict[str, str]:
    """A 304's headers: what the full answer would have said about caching, and no body's."""
    return {name: file.headers[name] for name in ("etag", "cache-control", "vary") if name in file.headers}


def _fingerprint(path: Path, known: dict[Path, Fingerprint]) -> Fingerprint | None:
    """Read `path` and remember its digest (None if it is not there)."""
    try:
        stat = os.stat(path)
        body = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    fingerprint = Fingerprint(hashlib.blake2b(body, digest_size=8).hexdigest(), stat.st_size, stat.st_mtime)
    known[path] = fingerprint
    return fingerprint
