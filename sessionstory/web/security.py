"""Who is asking: bearer tokens for the API, a sign-in cookie for the dashboard, CSRF."""

from __future__ import annotations

import hmac

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from sessionstory.auth import SignIn, User
from sessionstory.datadir import DataDir

SESSION_COOKIE = "ss_session"
LOGIN_COOKIE = "ss_login"  # double-submit token of the sign-in form, before any session exists
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def datadir(request: Request) -> DataDir:  # type: ignore[type-arg]
    return request.app.state.datadir  # type: ignore[no-any-return]


def session_cookie(request: Request) -> str:  # type: ignore[type-arg]
    """Under HTTPS the sign-in cookie is `__Host-` prefixed: the browser then takes it only as
    Secure, for this host alone and the whole path, so no subdomain can plant or shadow it."""
    return f"__Host-{SESSION_COOKIE}" if secure_cookies(request) else SESSION_COOKIE


def login_cookie(request: Request) -> str:  # type: ignore[type-arg]
    # Scoped to /login, so `__Secure-` (the `__Host-` prefix needs the whole path).
    return f"__Secure-{LOGIN_COOKIE}" if secure_cookies(request) else LOGIN_COOKIE


def signed_in(request: Request) -> SignIn | None:  # type: ignore[type-arg]
    sid = request.cookies.get(session_cookie(request))
    return datadir(request).accounts.signed_in(sid) if sid else None


def api_user(request: Request) -> User:  # type: ignore[type-arg]
    """A bearer token; a dashboard cookie also reads (GET), but never writes without CSRF."""
    scheme, _, token = _authorization(request).partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = datadir(request).accounts.user_for_token(token.strip())
        if user is None:
            raise NotAuthorizedException("invalid API token")
        return user
    sign_in = signed_in(request)
    if sign_in is None:
        raise NotAuthorizedException("send Authorization: Bearer TOKEN (make one with `sessionstory token create`)")
    if request.method not in SAFE_METHODS:
        check_csrf(request, sign_in, form_value=None)
    return sign_in.user


def _authorization(request: Request) -> str:  # type: ignore[type-arg]
    """The first Authorization header, read from the raw ASGI headers: litestar's `request.headers`
    builds a case-insensitive multidict of them all on first use, ~35 µs of a token request's worker
    time (in-server probe, load 8) against ~1 here."""
    for name, value in request.scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return ""


def check_csrf(request: Request, sign_in: SignIn, form_value: str | None) -> None:  # type: ignore[type-arg]
    sent = request.headers.get(CSRF_HEADER) or form_value or ""
    if not hmac.compare_digest(sent.encode(), sign_in.csrf_token.encode()):
        raise PermissionDeniedException("missing or wrong CSRF token; reload the page and try again")


def secure_cookies(request: Request) -> bool:  # type: ignore[type-arg]
    return datadir(request).settings.base_url.startswith("https://")


def require_admin(user: User, doing: str) -> None:
    """Admins manage users, projects and data; members view."""
    if user.role != "admin":
        raise PermissionDeniedException(f"only admins {doing}")
