"""What every page of the review app shares: the store, settings, secrets, and how pages render."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from catalog_imagegen.review.app.documents import HEADINGS_KEPT, DocumentCache
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore

TEMPLATES_DIR = Path(__file__).parent / "templates"
REVIEWER_COOKIE = "catalog_imagegen_reviewer"
MAX_FORM_BYTES = 1_000_000


class Regenerator(Protocol):
    """Starts making images again and records its progress in the run's decisions record."""

    def start(
        self, run_id: str, catalog: str, slots: Mapping[tuple[str, str, str, str], str]
    ) -> None: ...


@dataclass
class ReviewContext:
    store: ObjectStore
    settings: Settings
    regenerator: Regenerator
    token: str | None = field(default=None, repr=False)  # required on every request when set
    csrf_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    documents: DocumentCache = field(default_factory=DocumentCache, repr=False)
    headings: DocumentCache = field(
        default_factory=lambda: DocumentCache(HEADINGS_KEPT), repr=False
    )  # the runs list's, apart: many runs listed never push out the run being reviewed
    pages: Environment = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pages = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # else every included cell's template file is checked on disk
        )
        self.pages.globals.update(image_url=image_url, with_query=with_query)
        self.pages.filters["basename"] = lambda path: PurePath(str(path or "")).name

    def render(
        self, request: Request, template_name: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        values |= {
            "csrf": self.csrf_secret,
            "reviewer": reviewer_of(request),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "message": request.query_params.get("msg", ""),
        }
        html = self.pages.get_template(template_name).render(**values)
        return HTMLResponse(html, status_code=status_code)


def context_of(request: Request) -> ReviewContext:
    context: ReviewContext = request.app.state.review
    return context


def image_url(storage_key: str) -> str:
    return "/files/" + quote(storage_key, safe="/")


def with_query(path: str, query: Mapping[str, Any]) -> str:
    pairs = {k: v for k, v in query.items() if v not in ("", None, False)}
    return f"{path}?{urlencode(pairs)}" if pairs else path


def reviewer_of(request: Request) -> str:
    return unquote(request.cookies.get(REVIEWER_COOKIE, "")).strip()


async def read_form(request: Request) -> dict[str, list[str]]:
    """A posted form (``application/x-www-form-urlencoded``) whose CSRF token is this app's."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    token = (form.get("csrf") or [""])[0]
    if not hmac.compare_digest(token, context_of(request).csrf_secret):
        raise HTTPException(
            403, "This form has expired or came from another site: reload the page."
        )
    return form


def first(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name) or [default]
    return values[0].strip()
