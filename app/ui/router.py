"""Mounts the agents' UI on the application: routes, static files, session middleware, error pages.

`mount_ui(app)` is the only thing `app.main` calls. UI routes are left out of the OpenAPI document.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.ui.deps import LoginRequired, PasswordChangeRequired, UiError, current_session
from app.ui.i18n import translator
from app.ui.middleware import UiSessionMiddleware
from app.ui.routes_admin import router as admin_router
from app.ui.routes_auth import router as auth_router
from app.ui.routes_bulk import router as bulk_router
from app.ui.routes_case import router as case_router
from app.ui.routes_incidents import router as incidents_router
from app.ui.routes_queue import router as queue_router
from app.ui.templating import STATIC, render, request_language


def mount_ui(app: FastAPI) -> None:
    """Add the UI to `app`."""
    for router in (auth_router, queue_router, case_router, incidents_router, bulk_router, admin_router):
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")

    @app.get("/favicon.ico", include_in_schema=False)
    def _favicon() -> Response:
        """Browsers ask for it on every site; answering spares a 404 in every log."""
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})
    app.add_middleware(UiSessionMiddleware)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith("/ui/live/"):
            return Response(status_code=401)  # an event stream cannot follow a redirect to a form
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password(request: Request, _exc: PasswordChangeRequired) -> Response:
        if request.url.path.startswith("/ui/live/"):
            return Response(status_code=403)
        return RedirectResponse("/ui/password", status_code=303)

    @app.exception_handler(UiError)
    async def _error(request: Request, exc: UiError) -> Response:
        info = current_session(request)
        t = translator(request_language(request, info))
        ref = request.path_params.get("ref", "")
        return render(request, info, "error.html", {"title": t(exc.title_key), "message": t(exc.message, ref=ref)
                                                    if "{ref}" in t.catalog.get(exc.message, "") else t(exc.message)},
                      status_code=exc.status, t=t)
