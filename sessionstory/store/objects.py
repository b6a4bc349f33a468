"""Objects under one prefix of an S3-compatible bucket (S3, MinIO, moto...), through
obstore: where sealed segments live once a node has shipped them.

Endpoint, credentials and region come from the usual AWS_* variables, handed over by
`config.load_settings` (the only reader of the environment).
"""

from __future__ import annotations

import builtins  # `list` names a method below
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import AlreadyExistsError, PreconditionError
from obstore.store import S3Store

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

# Which AWS_* variable sets which of obstore's S3 options (the first one set wins).
_OPTIONS = {
    "endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
}


# A request waits this long at most, retries included: a player or a start-up waiting on a
# store that is down should fail in seconds, not obstore's default 3 minutes. (The shipper
# keeps trying a failed upload on its own schedule.)
_RETRIES: RetryConfig = {"max_retries": 3, "retry_timeout": timedelta(seconds=15)}
_CONNECT_TIMEOUT, _REQUEST_TIMEOUT = timedelta(seconds=5), timedelta(seconds=60)
_UPDATE_TRIES = 5


class StoreUrlError(ValueError):
    """SESSIONSTORY_STORE_URL names no bucket we can use."""


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    modified: datetime


def short_error(exc: BaseException) -> str:
    """An error's first line: obstore's messages carry a page of debug detail after it."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def parse_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix without slashes at its ends)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StoreUrlError(f"SESSIONSTORY_STORE_URL must look like s3://bucket/prefix, not {url!r}")
    return parts.netloc, parts.path.strip("/")


class ObjectStore:
    def __init__(self, url: str, aws_env: dict[str, str]) -> None:
        bucket, prefix = parse_url(url)
        self.url = url
        chosen = {option: value for option, names in _OPTIONS.items()
                  if (value := next((aws_env[n] for n in names if aws_env.get(n)), ""))}
        config: S3Config = {"region": "us-east-1", **chosen}  # type: ignore[typeddict-item]
        client: ClientConfig = {
            "allow_http": chosen.get("endpoint", "").startswith("http://"),  # a server on loopback or a private network
            "connect_timeout": _CONNECT_TIMEOUT, "timeout": _REQUEST_TIMEOUT,
        }
        self._store = S3Store(bucket, prefix=prefix or None, config=config, client_options=client, retry_config=_RETRIES)

    def put(self, key: str, data: bytes | Path) -> None:
        obstore.put(self._store, key, data)

    def create(self, key: str, data: bytes) -> bool:
        """Write `key` only if no object has that name yet (If-None-Match); False if one had."""
        try:
            obstore.put(self._store, key, data, mode="create")
        except AlreadyExistsError:
            return False
        return True

    def read(self, key: str) -> bytes:
        """The whole object; FileNotFoundError if there is none."""
        return bytes(obstore.get(self._store, key).bytes())

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        return bytes(obstore.get_range(self._store, key, start=offset, length=length))

    def update(self, key: str, change: Callable[[bytes], bytes]) -> None:
        """Replace an object by `change` of it, unless another writer replaced it meanwhile
        (If-Match on its ETag): then read it again and change that. No object, no change."""
        for _ in range(_UPDATE_TRIES):
            try:
                current = obstore.get(self._store, key)
            except FileNotFoundError:
                return
            e_tag, data = current.meta["e_tag"], bytes(current.bytes())
            try:
                obstore.put(self._store, key, change(data), mode={"e_tag": e_tag} if e_tag else "overwrite")
                return
            except PreconditionError:
                continue
        raise OSError(f"{key} kept changing under {_UPDATE_TRIES} attempts to update it")

    def delete(self, key: str) -> None:
        obstore.delete(self._store, key)

    def list(self, prefix: str) -> list[Listed]:
        return [Listed(meta["path"], meta["size"], meta["last_modified"])
                for chunk in obstore.list(self._store, prefix=prefix) for meta in chunk]

    def list_between(self, prefix: str, after: str, before: str) -> builtins.list[Listed]:
        """The objects under `prefix` whose keys sort after `after` and before `before`: S3 lists
        in key order from `after`, so only those are fetched, however many sort beyond."""
        found: builtins.list[Listed] = []
        for chunk in obstore.list(self._store, prefix=prefix, offset=after, chunk_size=1000):
            for meta in chunk:
                if meta["path"] >= before:
                    return found
                found.append(Listed(meta["path"], meta["size"], meta["last_modified"]))
        return found
