"""Login, logout, password change and personal settings."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.passwords import MIN_PASSWORD_LENGTH, verify_password
from app.auth.service import set_password
from app.kernel.clock import utc_now
from app.ui.deps import UiUser, check_csrf, current_session, in_transaction
from app.ui.i18n import LANGUAGES, translator
from app.ui.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL,
    authenticate,
    end_session,
    end_user_sessions,
    new_csrf_token,
    start_session,
)
from app.ui.templating import render, request_language

router = APIRouter(prefix="/ui", include_in_schema=False)


def is_https(request: Request) -> bool:
    """Behind a TLS-terminating proxy the scheme arrives as X-Forwarded-Proto."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_https(request))


def safe_next(value: str | None) -> str:
    """Only a path inside the UI: never an open redirect."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_url=safe_next(next))


def _login_form(request: Request, *, next_url: str, username: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_csrf_token()
    response = render(request, None, "login.html", {"login_csrf": token, "next_url": next_url,
                                                    "username": username, "error": error},
                      status_code=status_code)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/ui/") -> Response:
    """Double-submit CSRF check (there is no session yet), then argon2 verification."""
    t = translator(request_language(request, None))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_form(request, next_url=safe_next(next), username=username, error=t("error.csrf"),
                           status_code=403)

    def work(session: Session) -> tuple[str, bool] | None:
        user = authenticate(session, username.strip(), password)
        if user is None:
            return None
        return start_session(session, user, now=utc_now()), user.must_change_password

    result = await in_transaction(request, work)
    if result is None:
        return _login_form(request, next_url=safe_next(next), username=username, error=t("login.failed"),
                           status_code=401)
    token, must_change = result
    response = RedirectResponse("/ui/password" if must_change else safe_next(next), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, info: UiUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(info, csrf_token)
    await in_transaction(request, lambda session: end_session(session, info.session_id))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, info: UiUser) -> Response:
    return render(request, info, "password.html", {"nav": "settings"})


@router.post("/password")
async def change_password(request: Request, info: UiUser, current: Annotated[str, Form()] = "",
                          new: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
                          csrf_token: Annotated[str, Form()] = "") -> Response:
    """Change the caller's password; their other sessions end, this one stays."""
    check_csrf(info, csrf_token)
    t = translator(info.language)
    if new != confirm:
        return render(request, info, "password.html", {"error": t("password.mismatch")}, status_code=422)
    if len(new) < MIN_PASSWORD_LENGTH:
        return render(request, info, "password.html", {"error": t("password.hint")}, status_code=422)
    if new == current:
        return render(request, info, "password.html", {"error": t("password.same")}, status_code=422)

    def work(session: Session) -> bool:
        user = session.get_one(User, info.user_id)
        if not verify_password(user.password_hash, current):
            return False
        set_password(session, username=user.username, password=new, must_change=False)
        end_user_sessions(session, user.id, keep=info.session_id)
        return True

    if not await in_transaction(request, work):
        return render(request, info, "password.html", {"error": t("password.wrong")}, status_code=422)
    return RedirectResponse("/ui/?changed=password", status_code=303)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, info: UiUser, saved: str | None = None) -> Response:
    t = translator(info.language)
    return render(request, info, "settings.html", {"nav": "settings", "flash": t("settings.saved") if saved else None})


@router.post("/settings/language")
async def set_language(request: Request, info: UiUser, language: Annotated[str, Form()] = "en",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(info, csrf_token)
    chosen = language if language in LANGUAGES else "en"

    def work(session: Session) -> None:
        session.get_one(User, info.user_id).language = chosen

    await in_transaction(request, work)
    return RedirectResponse("/ui/settings?saved=1", status_code=303)
