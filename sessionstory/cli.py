"""The `sessionstory` command: serve, and the account and maintenance commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from collections.abc import Sequence
from typing import Any, NoReturn

import duckdb

from sessionstory import admin, commands
from sessionstory.config import ConfigError, Settings, load_settings, prepare_data_dir
from sessionstory.store.records import EncryptionError


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> Parser:
    parser = Parser(prog="sessionstory", description="Self-hosted session replay in one process.")
    common = Parser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default: $SESSIONSTORY_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    serve = sub.add_parser("serve", parents=[common], help="run the server: ingest, dashboard, player, API")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True, parser_class=Parser)
    user_create = user.add_parser("create", parents=[common], help="create a user; password read from stdin")
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--role", choices=["admin", "member"], default="member")
    user_create.add_argument("--password-stdin", action="store_true", required=True,
                             help="read the password from standard input")

    project = sub.add_parser("project", help="manage projects").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    project_create = project.add_parser("create", parents=[common], help="create a project")
    project_create.add_argument("--name", required=True)
    project_create.add_argument("--origin", action="append", default=[],
                                help="origin allowed to send sessions (repeatable; none = any)")

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    token_create = token.add_parser("create", parents=[common], help="create an API token for a user")
    token_create.add_argument("--email", required=True)
    token_create.add_argument("--name", default="")

    sub.add_parser("reindex", parents=[common], help="rebuild the DuckDB index from the stored events")
    sub.add_parser("demo", parents=[common],
                   help="add the Demo project's recorded sessions (made from the bundled demo shop), so the dashboard has something to show")

    compact = sub.add_parser("compact", parents=[common],
                             help="compact now every session quiet for a while, and delete dead segments")
    compact.add_argument("--idle-seconds", type=_seconds, metavar="S",
                         help="compact sessions quiet for at least S seconds (default: the session timeout, 1800)")

    imp = sub.add_parser("import", parents=[common], help="import a session: our export, or a plain rrweb event array")
    imp.add_argument("file", help="a JSON file (- for standard input)")
    imp.add_argument("--project", required=True, help="the project id to import into")

    exp = sub.add_parser("export", parents=[common], help="export a session as rrweb JSON, or the index as Parquet")
    exp.add_argument("session_id", nargs="?", help="the session to export (printed to stdout, or --output)")
    exp.add_argument("--output", "-o", help="write the session's JSON to this file")
    exp.add_argument("--parquet", metavar="DIR", help="write every index table as a Parquet file into DIR")

    audit = sub.add_parser("audit-pii", parents=[common],
                           help="scan the stored events for personal data; report where it is, masked")
    audit.add_argument("--project", help="only this project's sessions")
    audit.add_argument("--pattern", action="append", default=[], metavar="REGEX",
                       help="also look for this regular expression (repeatable)")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    redact = sub.add_parser("redact", parents=[common],
                            help="rewrite a project's stored events with masking applied, and rebuild the index")
    redact.add_argument("--project", required=True)
    redact.add_argument("--level", choices=["balanced", "strict"],
                        help="mask under this level (default: the project's current one)")
    redact.add_argument("--pattern", action="append", default=[], metavar="REGEX",
                        help="also mask what this regular expression matches (repeatable)")

    backup = sub.add_parser("backup", parents=[common], help="copy the stored events to DIR (safe while serving)")
    backup.add_argument("directory")
    restore = sub.add_parser("restore", parents=[common], help="restore a backup into an empty data directory")
    restore.add_argument("directory")
    sub.add_parser("migrate-to-cluster", parents=[common],
                   help="move this data dir into the cluster named by SESSIONSTORY_STORE_URL and "
                        "SESSIONSTORY_CATALOG_URL (server stopped): its sessions, segments and accounts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings(args.data_dir, getattr(args, "host", None), getattr(args, "port", None))
        if args.command == "serve":
            return serve(settings)
        if args.command == "restore":
            return restore(settings, Path(args.directory))
        if args.command == "migrate-to-cluster":
            return migrate_to_cluster(settings)
        name, kwargs = _command_call(args)
        output = run_command(settings, name, kwargs)
        if getattr(args, "output", None):
            Path(args.output).write_text(output)
        else:
            print(output)
        return 0
    except (UsageError, ConfigError, commands.CommandError, EncryptionError) as exc:
        print(f"sessionstory: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130


def _command_call(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    key = f"{args.command}_{getattr(args, 'action', '')}".rstrip("_")
    if key == "user_create":
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise commands.CommandError("no password on standard input")
        return key, {"email": args.email, "password": password, "role": args.role}
    if key == "project_create":
        return key, {"name": args.name, "origins": args.origin}
    if key == "token_create":
        return key, {"email": args.email, "name": args.name}
    if key == "import":
        return key, {"text": _read_input(args.file), "project": args.project}
    if key == "export":
        if bool(args.session_id) == bool(args.parquet):
            raise UsageError("give a session id, or --parquet DIR (see `sessionstory export --help`)")
        if args.parquet:
            return "export_parquet", {"directory": os.path.abspath(args.parquet)}
        return "export_session", {"session_id": args.session_id}
    if key == "backup":
        return key, {"directory": os.path.abspath(args.directory)}
    if key == "audit-pii":
        return "audit_pii", {"project": args.project, "patterns": args.pattern, "as_json": args.json}
    if key == "redact":
        return key, {"project": args.project, "level": args.level, "patterns": args.pattern}
    if key == "compact":
        return key, {"idle_seconds": args.idle_seconds}
    return key, {}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
    return value


def _read_input(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise commands.CommandError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise commands.CommandError(f"{path} is not a UTF-8 text file") from None


def run_command(settings: Settings, name: str, kwargs: dict[str, Any]) -> str:
    """Ask a running server to do it, or open the data directory and do it here."""
    from_server = admin.call(settings.admin_socket, name, kwargs)
    if from_server is not None:
        return from_server
    from sessionstory.datadir import DataDir

    progress = _progress if name == "reindex" else None
    try:
        dd = DataDir(prepare_data_dir(settings), progress=progress)
    except duckdb.IOException as exc:
        raise commands.CommandError(f"the index is locked by another process ({exc})") from None
    try:
        return commands.run(dd, name, {**kwargs, **({"progress": progress} if progress else {})})
    finally:
        dd.close()


def _refuse_if_served(settings: Settings, advice: str) -> None:
    if settings.admin_socket.exists() and admin.call(settings.admin_socket, "ping", {}) is not None:
        raise commands.CommandError(f"a server is running on this data directory; {advice}")


def restore(settings: Settings, backup_dir: Path) -> int:
    """Offline only: a running server must not have its data directory replaced under it."""
    _refuse_if_served(settings, "stop it, or restore into another")
    from sessionstory import portability
    from sessionstory.datadir import DataDir

    try:
        portability.restore(backup_dir, settings.data_dir)
    except portability.PortabilityError as exc:
        raise commands.CommandError(str(exc)) from None
    dd = DataDir(prepare_data_dir(settings), progress=_progress)
    sessions = commands.stored_sessions(dd)
    dd.close()
    print(f"restored {backup_dir} into {settings.data_dir}: {sessions} sessions")
    return 0


def migrate_to_cluster(settings: Settings) -> int:
    """Offline only: the server would go on writing segments and accounts the cluster never sees."""
    _refuse_if_served(settings, "stop it first (the cluster takes over from it)")
    if not settings.store_url or not settings.catalog_url:
        raise ConfigError("set SESSIONSTORY_STORE_URL and SESSIONSTORY_CATALOG_URL (and AWS_* for the store) "
                          "as for the cluster's `serve`")
    try:
        from sessionstory.cluster.migrate import MigrationError, migrate
    except ImportError:
        raise ConfigError("migrate-to-cluster needs the cluster's clients: pip install 'sessionstory[cluster]'") from None
    try:
        print(migrate(prepare_data_dir(settings), lambda line: print(line, file=sys.stderr, flush=True)))
    except MigrationError as exc:
        raise commands.CommandError(str(exc)) from None
    return 0


def _progress(count: int) -> None:
    print(f"\r{count} records indexed", end="", file=sys.stderr, flush=True)


def serve(settings: Settings) -> int:
    import uvicorn

    from sessionstory import logs
    from sessionstory.app import create_app

    settings = prepare_data_dir(settings)
    _check_key(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"SessionStory on {settings.base_url} (data in {settings.data_dir.resolve()})", flush=True)
    app = create_app(settings)
    uvicorn_logging = logs.configure(settings.log_format)  # after the app: litestar sets up logging too
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                            proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
                            ssl_certfile=settings.tls_cert or None, ssl_keyfile=settings.tls_key or None,
                            server_header=False, log_config=uvicorn_logging,
                            access_log=False)  # the app writes the same lines off the event loop (logs.AccessLog)
    try:
        uvicorn.Server(config).run()
    except duckdb.IOException as exc:
        raise ConfigError(f"cannot open the index in {settings.data_dir}: {exc}") from None
    return 0


def _check_key(settings: Settings) -> None:
    """A missing or wrong encryption key is one line now, not a traceback from the server's start."""
    from sessionstory.store import SegmentLog
    from sessionstory.store.records import Sealer

    sealer = Sealer(settings.encryption_key) if settings.encryption_key else None
    SegmentLog(settings.segments_dir, sealer=sealer).close()  # reads the open segment's records


def entry() -> NoReturn:
    raise SystemExit(main())
