"""Users, passwords, API tokens and dashboard sign-ins.

Passwords are argon2id hashes; API tokens and sign-in ids are stored only as SHA-256
digests, so a copy of the index (or of a cluster's catalog) grants nobody access.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from typing import Generic, TypeVar

import argon2
import msgspec

from sessionstory.entities import IndexRows, RowConflict, Rows

ROLES = ("admin", "member")
SIGN_IN_TTL_MS = 14 * 24 * 3600 * 1000
# How long a checked API token or sign-in is believed without asking the index again. Every change
# to users, tokens and sign-ins goes through Accounts and empties the cache at once; this bounds any
# other path (another node of a cluster signing someone out, say).
BELIEVED_S = 5.0
V = TypeVar("V")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class User(msgspec.Struct, frozen=True):
    id: str
    email: str
    role: str
    created_ms: int


class SignIn(msgspec.Struct, frozen=True):
    """A dashboard sign-in: the cookie carries `sid`, forms carry `csrf_token`."""

    sid: str
    user: User
    csrf_token: str


class AuthError(ValueError):
    pass


class _Recent(Generic[V]):
    """Secret digests checked lately -> what they grant, for a few seconds: each lookup was a
    DuckDB join on every request, about as long as a fast session list's own SQL.

    A lookup that started before a change (say, a user deleted) must not store its answer
    after the change emptied the cache: the generation tells them apart."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, V]] = {}
        self.generation = 0

    def get(self, digest: str) -> V | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, value: V, generation: int) -> None:
        with self._lock:
            if self._ttl_s > 0 and generation == self.generation:
                self._entries[digest] = (time.monotonic() + self._ttl_s, value)

    def forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries = {}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


class Accounts:
    # Each argon2 hash takes ~64 MiB and a core for a moment: cap how many run at once.
    MAX_CONCURRENT_HASHES = 2

    def __init__(self, rows: Rows) -> None:
        self._rows = rows
        # OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~70 ms here, where the
        # library default (64 MiB, 4 lanes) takes ~800 ms on two cores.
        self._hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._hash_slots = threading.BoundedSemaphore(self.MAX_CONCURRENT_HASHES)
        self._dummy: str | None = None
        self._tokens: _Recent[User] = _Recent(BELIEVED_S)
        # A sign-in with its expiry (ms). Believed only where every sign-out passes through this
        # object (one node's own index: the CLI asks the running server): a cluster's other node
        # would go on believing a cookie signed out elsewhere, and its shared catalog answers in ~0.1 ms.
        self._sign_ins: _Recent[tuple[int, SignIn]] = _Recent(BELIEVED_S if isinstance(rows, IndexRows) else 0.0)

    def _dummy_hash(self) -> str:
        """Verified against when an email is unknown, so timing does not tell which emails exist."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_hex(8))
        return self._dummy

    # -- users ----------------------------------------------------------------------

    def create_user(self, email: str, password: str, role: str = "member") -> User:
        email = email.strip().lower()
        if not _EMAIL.match(email) or len(email) > 254:
            raise AuthError(f"not an email address: {email!r}")
        if role not in ROLES:
            raise AuthError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise AuthError("password must be at least 8 characters")
        if self.user_by_email(email) is not None:
            raise AuthError(f"a user with email {email} exists already")
        with self._hash_slots:
            password_hash = self._hasher.hash(password)
        user = User(id=uuid.uuid4().hex[:12], email=email, role=role, created_ms=_now_ms())
        try:
            self._rows.save("users", {**msgspec.structs.asdict(user), "password_hash": password_hash})
        except RowConflict:  # another node made it meanwhile
            raise AuthError(f"a user with email {email} exists already") from None
        return user

    def user_by_email(self, email: str) -> User | None:
        row = self._rows.read(
            lambda cur: cur.execute(
                "SELECT id, email, role, created_ms FROM users WHERE email = ?", [email.strip().lower()]
            ).fetchone()
        )
        return None if row is None else User(*row)

    def user_count(self) -> int:
        return int(self._rows.read(lambda cur: cur.execute("SELECT count(*) FROM users").fetchone()[0]))

    def authenticate(self, email: str, password: str) -> User | None:
        row = self._rows.read(
            lambda cur: cur.execute(
                "SELECT id, email, role, created_ms, password_hash FROM users WHERE email = ?",
                [email.strip().lower()],
            ).fetchone()
        )
        stored = row[4] if row else self._dummy_hash()
        with self._hash_slots:
            try:
                self._hasher.verify(stored, password)
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                return None
            if row is None:
                return None
            user = User(*row[:4])
            if self._hasher.check_needs_rehash(stored):
                fresh = self._hasher.hash(password)
                self._rows.save("users", {**msgspec.structs.asdict(user), "password_hash": fresh})
        return user

    def users(self) -> list[User]:
        rows = self._rows.read(
            lambda cur: cur.execute("SELECT id, email, role, created_ms FROM users ORDER BY created_ms").fetchall()
        )
        return [User(*row) for row in rows]

    def set_role(self, user_id: str, role: str) -> User:
        if role not in ROLES:
            raise AuthError(f"role must be one of {', '.join(ROLES)}")
        user = self._user(user_id)
        if user.role == "admin" and role != "admin":
            self._keep_an_admin(user)
        row = self._rows.read(lambda cur: cur.execute(
            "SELECT password_hash FROM users WHERE id = ?", [user_id]).fetchone())
        changed = msgspec.structs.replace(user, role=role)
        self._rows.save("users", {**msgspec.structs.asdict(changed), "password_hash": row[0]})
        self._forget_checked()  # a token's or sign-in's user carries the role
        return changed

    def delete_user(self, user_id: str) -> User:
        """The user, their API tokens and their sign-ins: gone, effective at once."""
        user = self._user(user_id)
        if user.role == "admin":
            self._keep_an_admin(user)
        token_ids = self._rows.read(lambda cur: cur.execute(
            "SELECT id FROM tokens WHERE user_id = ?", [user_id]).fetchall())
        for (token_id,) in token_ids:
            self._rows.save("tokens", {"id": token_id}, op="delete")
        self._rows.save("users", {"id": user_id}, op="delete")
        self._rows.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
        self._forget_checked()
        return user

    def _forget_checked(self) -> None:
        self._tokens.forget_all()
        self._sign_ins.forget_all()

    def _user(self, user_id: str) -> User:
        row = self._rows.read(lambda cur: cur.execute(
            "SELECT id, email, role, created_ms FROM users WHERE id = ?", [user_id]).fetchone())
        if row is None:
            raise AuthError(f"no user {user_id!r}")
        return User(*row)

    def _keep_an_admin(self, leaving: User) -> None:
        admins = [u for u in self.users() if u.role == "admin" and u.id != leaving.id]
        if not admins:
            raise AuthError("the last admin cannot be removed or demoted; make another admin first")

    # -- API tokens -----------------------------------------------------------------

    def create_token(self, email: str, name: str = "") -> str:
        user = self.user_by_email(email)
        if user is None:
            raise AuthError(f"no user with email {email}")
        token = "sst_" + secrets.token_urlsafe(32)
        row = {
            "id": uuid.uuid4().hex[:12],
            "user_id": user.id,
            "name": name or "token",
            "token_hash": _digest(token),
            "created_ms": _now_ms(),
        }
        self._rows.save("tokens", row)
        return token

    def user_for_token(self, token: str) -> User | None:
        digest = _digest(token)
        known = self._tokens.get(digest)
        if known is not None:
            return known
        generation = self._tokens.generation
        row = self._rows.read(
            lambda cur: cur.execute(
                "SELECT u.id, u.email, u.role, u.created_ms, t.token_hash FROM tokens t "
                "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
                [digest],
            ).fetchone()
        )
        if row is None or not hmac.compare_digest(row[4], digest):
            return None
        user = User(*row[:4])
        self._tokens.put(digest, user, generation)
        return user

    # -- dashboard sign-ins ---------------------------------------------------------

    def sign_in(self, user: User) -> SignIn:
        """A brand-new sign-in id every time: an id planted before login is never promoted."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = _now_ms() + SIGN_IN_TTL_MS
        self._rows.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?)", [_digest(sid), user.id, csrf, expires])
        return SignIn(sid=sid, user=user, csrf_token=csrf)

    def signed_in(self, sid: str) -> SignIn | None:
        digest = _digest(sid)
        known = self._sign_ins.get(digest)
        if known is not None and known[0] > _now_ms():
            return known[1]
        generation = self._sign_ins.generation
        row = self._rows.read(
            lambda cur: cur.execute(
                "SELECT u.id, u.email, u.role, u.created_ms, w.csrf_token, w.expires_ms FROM web_sessions w "
                "JOIN users u ON u.id = w.user_id WHERE w.id_hash = ? AND w.expires_ms > ?",
                [digest, _now_ms()],
            ).fetchone()
        )
        if row is None:
            return None
        sign_in = SignIn(sid=sid, user=User(*row[:4]), csrf_token=row[4])
        self._sign_ins.put(digest, (row[5], sign_in), generation)
        return sign_in

    def sign_out(self, sid: str) -> None:
        self._rows.execute("DELETE FROM web_sessions WHERE id_hash = ?", [_digest(sid)])
        self._sign_ins.forget_all()
