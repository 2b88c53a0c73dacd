"""Who may use the review app, and from where.

- With a token (required whenever the app listens beyond loopback), every request must carry it:
  ``Authorization: Bearer TOKEN``, or once as ``?token=TOKEN``, after which an HttpOnly cookie
  carries it. Without a token the app listens on loopback only and refuses other Host names, so
  a web page cannot reach it by DNS rebinding.
- A state-changing request from another site is refused: by ``Sec-Fetch-Site`` and ``Origin``
  here, and by the CSRF token every form carries (``context.read_form``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from catalog_imagegen.review.app.context import context_of

TOKEN_COOKIE = "catalog_imagegen_review_token"  # noqa: S105 - a cookie name
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

Handler = Callable[[Request], Awaitable[Response]]


def add_guards(app: FastAPI) -> None:
    app.middleware("http")(guard)


async def guard(request: Request, call_next: Handler) -> Response:
    refusal = token_refusal(request) or cross_site_refusal(request)
    if refusal is not None:
        return refusal
    token = request.query_params.get("token")
    if token is not None and request.method in SAFE_METHODS:
        return _remember_token(request, token)
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def token_refusal(request: Request) -> Response | None:
    expected = context_of(request).token
    if not expected:
        host = (request.url.hostname or "").lower()
        if host not in LOOPBACK_NAMES:
            return PlainTextResponse("refused: this review app answers on loopback only", 403)
        return None
    offered = [
        request.headers.get("authorization", "").removeprefix("Bearer ").strip(),
        request.cookies.get(TOKEN_COOKIE, ""),
        request.query_params.get("token", ""),
    ]
    if any(hmac.compare_digest(o.encode(), expected.encode()) for o in offered if o):
        return None
    return PlainTextResponse(
        "refused: this review app needs its token (open the link with ?token=...)", 401
    )


def cross_site_refusal(request: Request) -> Response | None:
    if request.method in SAFE_METHODS:
        return None
    site = request.headers.get("sec-fetch-site", "")
    if site in ("cross-site", "same-site"):
        return PlainTextResponse("refused: a request from another site", 403)
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        return PlainTextResponse(f"refused: a request from another origin ({origin[:80]})", 403)
    return None


def _remember_token(request: Request, token: str) -> Response:
    """Move the token from the address bar into a cookie, so it is not shared with a link."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), 303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response
