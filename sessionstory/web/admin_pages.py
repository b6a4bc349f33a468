"""What admins manage: users and their roles, and the audit log of every such change."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from sessionstory.auth import AuthError, SignIn, User
from sessionstory.web.pages import admin_sign_in, render
from sessionstory.web.security import datadir
from sessionstory.web.threads import blocking


def _admin(request: Request, data: dict[str, str] | None = None) -> SignIn:  # type: ignore[type-arg]
    return admin_sign_in(request, "manage users", data)


def _users_page(request: Request, sign_in: SignIn, status: int = 200, **context: Any) -> Template:  # type: ignore[type-arg]
    page = render("users.html", request, sign_in, users=datadir(request).accounts.users(),
                  **{"error": None, "created": None, **context})
    page.status_code = status
    return page


@get("/users")
@blocking
def users_page(request: Request) -> Template:  # type: ignore[type-arg]
    return _users_page(request, _admin(request))


@post("/users")
@blocking
def create_user(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:  # type: ignore[type-arg]
    """A new user with a one-time password, shown once to the admin to pass on."""
    sign_in = _admin(request, data)
    dd = datadir(request)
    password = secrets.token_urlsafe(12)
    try:
        user = dd.accounts.create_user(data.get("email", ""), password, data.get("role", "member"))
    except AuthError as exc:
        return _users_page(request, sign_in, 400, error=str(exc))
    dd.audit.record(sign_in.user.email, "user.create", user.email, f"role {user.role}")
    return _users_page(request, sign_in, created={"email": user.email, "password": password})


@post("/users/{user_id:str}/role")
@blocking
def change_role(request: Request, user_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = _admin(request, data)
    accounts = datadir(request).accounts
    return _apply(request, sign_in, lambda: accounts.set_role(user_id, data.get("role", "")), "user.role",
                  lambda user: f"now {user.role}")


@post("/users/{user_id:str}/delete")
@blocking
def delete_user(request: Request, user_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = _admin(request, data)
    accounts = datadir(request).accounts
    return _apply(request, sign_in, lambda: accounts.delete_user(user_id), "user.delete",
                  lambda _: "tokens and sign-ins revoked")


def _apply(request: Request, sign_in: SignIn, change: Callable[[], User], action: str,  # type: ignore[type-arg]
           detail: Callable[[User], str]) -> Response[Any]:
    """Make one change to a user, audit it, and go back to the list (or show why not)."""
    try:
        user = change()
    except AuthError as exc:
        return _users_page(request, sign_in, 400, error=str(exc))
    datadir(request).audit.record(sign_in.user.email, action, user.email, detail(user))
    return Redirect("/users", status_code=303)


@get("/audit")
@blocking
def audit_page(request: Request) -> Template:  # type: ignore[type-arg]
    sign_in = _admin(request)
    return render("audit.html", request, sign_in, entries=datadir(request).audit.recent())
