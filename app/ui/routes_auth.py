"""Login, logout, password change and personal settings."""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.audit import Actor
from app.auth.models import User
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.auth.service import hashed_password, set_password
from app.auth.throttle import blocked_for, record_failure, record_success, throttle_keys
from app.kernel.clock import utc_now
from app.ui.deps import UiUser, check_csrf, current_session, in_transaction
from app.ui.i18n import LANGUAGES, Translator, translator
from app.ui.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL,
    end_session,
    end_user_sessions,
    login_hash,
    new_csrf_token,
    password_matches,
    start_session,
    user_for_login,
)
from app.ui.templating import render, request_language
from app.web.client import request_client_address
from app.web.problems import TooManyRequests, problem_response

router = APIRouter(prefix="/ui", include_in_schema=False)


def is_https(request: Request) -> bool:
    """Always in production (served over HTTPS only; a proxy's header is not trusted for it);
    in development behind a TLS-terminating proxy the scheme arrives as X-Forwarded-Proto."""
    if request.app.state.settings.production:
        return True
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

    name = username.strip()
    keys = throttle_keys(name, request_client_address(request))

    def check(session: Session) -> tuple[int, str | None]:
        wait = blocked_for(session, keys, now=utc_now())
        return wait, (None if wait else login_hash(session, name))

    wait, stored_hash = await in_transaction(request, check)
    if wait:
        return _throttled(request, t, next_url=safe_next(next), username=username, seconds=wait)
    matches = await anyio.to_thread.run_sync(password_matches, stored_hash, password,
                                             limiter=_hashing_limiter(request))

    def finish(session: Session) -> tuple[str, bool] | None:
        user = user_for_login(session, name, stored_hash) if matches and stored_hash else None
        if user is None:
            record_failure(session, keys, now=utc_now())
            return None
        record_success(session, name)
        return start_session(session, user, now=utc_now()), user.must_change_password

    result = await in_transaction(request, finish)
    if result is None:
        return _login_form(request, next_url=safe_next(next), username=username, error=t("login.failed"),
                           status_code=401)
    token, must_change = result
    response = RedirectResponse("/ui/password" if must_change else safe_next(next), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


def _hashing_limiter(request: Request) -> anyio.CapacityLimiter:
    """At most `WEBCARE_PASSWORD_HASH_CONCURRENCY` password checks at once in this process: sixty
    parallel logins must not take every core (and 64 MiB each) from the rest of the service."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "hashing_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(request.app.state.settings.password_hash_concurrency)
        request.app.state.hashing_limiter = limiter
    return limiter


def _throttled(request: Request, t: Translator, *, next_url: str, username: str, seconds: int) -> Response:
    """429 with Retry-After: the login form for a browser, problem JSON for anything else."""
    headers = {"Retry-After": str(seconds)}
    if "text/html" not in request.headers.get("accept", ""):
        return problem_response(TooManyRequests(f"too many failed logins; retry in {seconds} s", headers=headers),
                                request)
    response = _login_form(request, next_url=next_url, username=username,
                           error=t("login.throttled", seconds=seconds), status_code=429)
    response.headers.update(headers)
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

    # Read, check and hash outside any transaction; write only if the hash is still the one checked.
    stored_hash = await in_transaction(request, lambda session: session.get_one(User, info.user_id).password_hash)
    limiter = _hashing_limiter(request)
    matches = await anyio.to_thread.run_sync(password_matches, stored_hash, current, limiter=limiter)
    hashed = await anyio.to_thread.run_sync(hashed_password, new, limiter=limiter) if matches else None

    def work(session: Session) -> bool:
        user = session.get_one(User, info.user_id)
        if hashed is None or user.password_hash != stored_hash:
            return False
        set_password(session, username=user.username, password=hashed, now=utc_now(), actor=Actor.ui(user.username),
                     must_change=False)
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
async def set_language(request: Request, info: UiUser, language: Annotated[str, Form()] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    """Save the user's language; empty (or unknown) means "follow the browser"."""
    check_csrf(info, csrf_token)
    chosen = language if language in LANGUAGES else None

    def work(session: Session) -> None:
        session.get_one(User, info.user_id).language = chosen

    await in_transaction(request, work)
    return RedirectResponse("/ui/settings?saved=1", status_code=303)


@router.post("/settings/shortcuts")
async def set_shortcuts(request: Request, info: UiUser, shortcuts: Annotated[str, Form()] = "",
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    """Turn the single-key shortcuts on (`shortcuts` sent, as a ticked box sends it) or off."""
    check_csrf(info, csrf_token)
    enabled = bool(shortcuts)

    def work(session: Session) -> None:
        session.get_one(User, info.user_id).keyboard_shortcuts = enabled

    await in_transaction(request, work)
    return RedirectResponse("/ui/settings?saved=1", status_code=303)
