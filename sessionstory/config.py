"""Settings: one typed object, built once from flags and the environment, passed down."""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import msgspec


class Limits(msgspec.Struct, frozen=True):
    """What one ingest request may carry; each bound answers a different attack.

    Nesting depth needs no bound of ours: msgspec refuses JSON deeper than ~1000 levels.
    """

    max_body_bytes: int = 10 * 1024 * 1024
    max_decoded_bytes: int = 50 * 1024 * 1024
    max_events: int = 20_000
    max_id_length: int = 128
    # Per session, across all its batches: a runaway page (or a flood under one id) stops here.
    max_session_bytes: int = 256 * 1024 * 1024  # stored (compressed) bytes
    max_session_events: int = 2_000_000
    # Requests a second (bursts of twice as many); 0 = unlimited. One visitor sends about one every 2 s.
    per_address_rate: float = 50.0
    per_project_rate: float = 2_000.0
    # Below this much free disk, ingest answers 503 before writing anything.
    min_free_bytes: int = 256 * 1024 * 1024
    # Event timestamps outside [2000-01-01, the server's clock + 1 day] are clamped to that window.
    # (Old recordings are fine: imports and late retries carry the past legitimately.)
    min_timestamp_ms: int = 946_684_800_000
    max_future_ms: int = 86_400_000
    # Backpressure: past these, ingest answers 503 with Retry-After rather than queue more in memory.
    max_commit_queue: int = 5_000  # records waiting for the group committer
    max_index_lag_records: int = 20_000  # records durable in the log but not yet indexed...
    max_index_lag_bytes: int = 128 * 1024 * 1024  # ...and their bytes


class Settings(msgspec.Struct, frozen=True):
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    secret_key: str = ""
    admin_email: str = ""
    admin_password: str = ""
    llm_model: str = ""
    session_timeout_s: int = 30 * 60
    limits: Limits = Limits()
    log_format: str = "text"  # or "json": one JSON object per line
    metrics_token: str = ""  # when set, GET /metrics wants `Authorization: Bearer` it
    tls_cert: str = ""  # a PEM certificate (chain) file: the process serves HTTPS itself
    tls_key: str = ""  # its private key
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-* headers are believed (comma-separated, or *)
    allowed_hosts: tuple[str, ...] = ()  # Host headers answered (e.g. replay.example.com, *.example.com); () = any
    encryption_key: bytes = b""  # 32 bytes: stored events are sealed with AES-256-GCM (records.Sealer)
    # A cluster's object store (s3://bucket/prefix): sealed segments are shipped there (store/shipping.py).
    store_url: str = ""
    store_seal_s: float = 60.0  # the longest a batch stays on this node's disk alone before its segment is sealed
    aws_env: dict[str, str] = msgspec.field(default_factory=dict)  # the AWS_* variables: endpoint, keys, region
    # A cluster's Postgres (postgresql://user:password@host:port/database, or libpq's key=value form):
    # the accounts every node shares (cluster/accounts.py).
    catalog_url: str = ""

    @property
    def base_url(self) -> str:
        """Where browsers reach this server: the snippet's src is built from it."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{'https' if self.tls_cert else 'http'}://{host}:{self.port}"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.duckdb"

    @property
    def segments_dir(self) -> Path:
        return self.data_dir / "segments"

    @property
    def admin_socket(self) -> Path:
        return self.data_dir / "admin.sock"


class ConfigError(ValueError):
    """A setting a person gave is unusable; the message says which and why."""


def default_data_dir() -> Path:
    return Path(os.environ.get("SESSIONSTORY_DATA_DIR") or "./data")


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Flags win over the environment, the environment over defaults."""
    env = dict(os.environ if env is None else env)
    data = Path(data_dir) if data_dir else Path(env.get("SESSIONSTORY_DATA_DIR") or "./data")
    port_value = port if port is not None else _port(env.get("SESSIONSTORY_PORT", "8000"))
    if not 0 < port_value < 65536:
        raise ConfigError(f"port must be between 1 and 65535, not {port_value}")
    email, password = env.get("SESSIONSTORY_ADMIN_EMAIL", ""), env.get("SESSIONSTORY_ADMIN_PASSWORD", "")
    if bool(email) != bool(password):
        raise ConfigError("set both SESSIONSTORY_ADMIN_EMAIL and SESSIONSTORY_ADMIN_PASSWORD, or neither")
    log_format = env.get("SESSIONSTORY_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError(f"SESSIONSTORY_LOG_FORMAT must be text or json, not {log_format!r}")
    cert, key = env.get("SESSIONSTORY_TLS_CERT", ""), env.get("SESSIONSTORY_TLS_KEY", "")
    if bool(cert) != bool(key):
        raise ConfigError("set both SESSIONSTORY_TLS_CERT and SESSIONSTORY_TLS_KEY, or neither")
    for variable, path in (("SESSIONSTORY_TLS_CERT", cert), ("SESSIONSTORY_TLS_KEY", key)):
        if path and not Path(path).is_file():
            raise ConfigError(f"{variable}: no file {path}")
    store_url = env.get("SESSIONSTORY_STORE_URL", "").strip()
    if store_url and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?", store_url):
        raise ConfigError(f"SESSIONSTORY_STORE_URL must look like s3://bucket/prefix, not {store_url!r}")
    return Settings(
        catalog_url=_catalog_url(env.get("SESSIONSTORY_CATALOG_URL", "").strip()),
        store_url=store_url,
        store_seal_s=_seconds(env, "SESSIONSTORY_STORE_SEAL_SECONDS", 60.0),
        aws_env={name: value for name, value in env.items() if name.startswith("AWS_")},
        encryption_key=_encryption_key(env.get("SESSIONSTORY_ENCRYPTION_KEY", "").strip()),
        limits=_limits(env),
        data_dir=data,
        host=host or env.get("SESSIONSTORY_HOST") or "127.0.0.1",
        port=port_value,
        public_url=env.get("SESSIONSTORY_PUBLIC_URL", ""),
        secret_key=env.get("SESSIONSTORY_SECRET_KEY", ""),
        admin_email=email,
        admin_password=password,
        llm_model=env.get("SESSIONSTORY_LLM_MODEL", ""),
        log_format=log_format,
        metrics_token=env.get("SESSIONSTORY_METRICS_TOKEN", ""),
        tls_cert=cert,
        tls_key=key,
        trusted_proxies=env.get("SESSIONSTORY_TRUSTED_PROXIES", "").strip() or "127.0.0.1",
        allowed_hosts=tuple(h.strip() for h in env.get("SESSIONSTORY_ALLOWED_HOSTS", "").split(",") if h.strip()),
    )


_LIMIT_VARIABLES: dict[str, tuple[str, Callable[[str], float | int]]] = {
    "SESSIONSTORY_INGEST_RATE_PER_ADDRESS": ("per_address_rate", float),
    "SESSIONSTORY_INGEST_RATE_PER_PROJECT": ("per_project_rate", float),
    "SESSIONSTORY_MIN_FREE_MB": ("min_free_bytes", lambda text: int(float(text) * 1024 * 1024)),
}


def _limits(env: dict[str, str]) -> Limits:
    chosen: dict[str, float | int] = {}
    for variable, (field, parse) in _LIMIT_VARIABLES.items():
        text = env.get(variable, "").strip()
        if not text:
            continue
        try:
            value = parse(text)
        except ValueError:
            raise ConfigError(f"{variable} must be a number, not {text!r}") from None
        if value < 0:
            raise ConfigError(f"{variable} must not be negative")
        chosen[field] = value
    return Limits(**chosen)  # type: ignore[arg-type]


def _seconds(env: dict[str, str], variable: str, default: float) -> float:
    text = env.get(variable, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        raise ConfigError(f"{variable} must be a number of seconds, not {text!r}") from None
    if not value > 0:
        raise ConfigError(f"{variable} must be more than 0")
    return value


def _catalog_url(text: str) -> str:
    """A libpq connection string: a postgresql:// URI or key=value pairs (psycopg and DuckDB take both)."""
    if text and not (re.match(r"postgres(ql)?://", text) or re.match(r"\w+\s*=", text)):
        raise ConfigError("SESSIONSTORY_CATALOG_URL must look like postgresql://user@host:5432/database")
    return text


def _encryption_key(text: str) -> bytes:
    """32 bytes, given as URL-safe base64 (make one: `python -c "import base64, os;
    print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`)."""
    if not text:
        return b""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError("SESSIONSTORY_ENCRYPTION_KEY must be 32 bytes in URL-safe base64 (44 characters)")
    return key


def _port(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"SESSIONSTORY_PORT must be a number, not {text!r}") from None


def prepare_data_dir(settings: Settings) -> Settings:
    """Create the data directory and settle the secret key (kept there when not given)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.segments_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot use data directory {settings.data_dir}: {exc.strerror}") from None
    if settings.secret_key:
        return settings
    key_file = settings.data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return msgspec.structs.replace(settings, secret_key=key_file.read_text().strip())
