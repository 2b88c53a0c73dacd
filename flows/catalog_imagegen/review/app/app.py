"""The review app: one FastAPI application whose pages each live in a module with its own router.

A new page (the prompt lab's, say) is a module with an ``APIRouter`` and its templates, added to
``PAGES``. Every page shares the ``ReviewContext`` (``request.app.state.review``), the guards of
``security`` and the base template's navigation (``NAVIGATION``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog_imagegen.review.app import actions, files, lab_page, run_page, runs_page
from catalog_imagegen.review.app.context import ReviewContext, context_of
from catalog_imagegen.review.app.security import add_guards

PAGES: tuple[APIRouter, ...] = (
    runs_page.router,
    run_page.router,
    actions.router,
    files.router,
    lab_page.router,
)
NAVIGATION = [("Runs", "/"), ("Lab", "/lab")]  # (link text, path) shown on every page


def create_review_app(context: ReviewContext, pages: tuple[APIRouter, ...] = PAGES) -> FastAPI:
    app = FastAPI(title="catalog-imagegen review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.review = context
    context.pages.globals["navigation"] = NAVIGATION
    for page in pages:
        app.include_router(page)
    app.add_exception_handler(StarletteHTTPException, _error_page)  # type: ignore[arg-type]
    add_guards(app)
    return app


async def _error_page(request: Request, error: HTTPException) -> HTMLResponse:
    return context_of(request).render(
        request, "refused.html", status_code=error.status_code, reason=str(error.detail)
    )
