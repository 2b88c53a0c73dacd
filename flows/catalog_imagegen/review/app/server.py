"""Running the review app: on loopback unless a token guards it, in the foreground or a thread."""

from __future__ import annotations

import ipaddress
import os
import threading
import time

import uvicorn

from catalog_imagegen.review.app.app import create_review_app
from catalog_imagegen.review.app.context import Regenerator, ReviewContext
from catalog_imagegen.review.app.links import REVIEW_URL_VARIABLE
from catalog_imagegen.review.app.regenerating import DeploymentRegenerator, InProcessRegenerator
from catalog_imagegen.review.app.run_page import warm
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore

TOKEN_VARIABLE = "CATALOG_IMAGEGEN_REVIEW_TOKEN"  # noqa: S105 - a variable name
DEFAULT_PORT = 8765


class ReviewAppError(ValueError):
    """The app cannot start as asked (a public address without a token)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def review_context(
    store: ObjectStore, settings: Settings, host: str, *, served: bool = False
) -> ReviewContext:
    """The app's context; beyond loopback it needs ``CATALOG_IMAGEGEN_REVIEW_TOKEN``. Served
    (beside ``serve``), Regenerate runs the backfill deployment; standalone, this process."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip() or None
    if token is None and not is_loopback(host):
        raise ReviewAppError(
            f"--host {host}: set {TOKEN_VARIABLE} to serve the review app beyond this machine"
        )
    regenerator: Regenerator = (
        DeploymentRegenerator(store, settings) if served else InProcessRegenerator(store, settings)
    )
    return ReviewContext(store, settings, regenerator, token=token)


def review_server(
    context: ReviewContext, host: str, port: int, *, warm_up: bool = True
) -> uvicorn.Server:
    """The app's server; the newest runs' grids are read meanwhile, in the background."""
    if warm_up:
        threading.Thread(target=warm, args=(context,), daemon=True).start()
    app = create_review_app(context)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    return uvicorn.Server(config)


class ReviewAppThread:
    """The app served from a daemon thread (``serve`` and the tests)."""

    def __init__(
        self, context: ReviewContext, host: str = "127.0.0.1", port: int = 0, warm_up: bool = True
    ) -> None:
        self.server = review_server(context, host, port, warm_up=warm_up)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.host = host

    def start(self, timeout: float = 60) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the review app did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def start_beside_service(settings: Settings, host: str, port: int) -> ReviewAppThread | None:
    """``serve``: the review app for the service's output, in a thread; run artifacts link to it.
    A port in use leaves the schedules running, with a warning, rather than stopping them."""
    from catalog_imagegen.definitions import build_store

    store = build_store(settings)
    store.check_access()  # as `review`: a store that cannot be used ends `serve` (cli.main)
    app = ReviewAppThread(review_context(store, settings, host, served=True), host, port)
    try:
        url = app.start()
    except RuntimeError:
        print(f"warning: the review app could not listen on {host}:{port} (--review-port)")
        return None
    os.environ[REVIEW_URL_VARIABLE] = url  # the served flow runs inherit it
    print(f"Review app for {store.describe()}: {url}/", flush=True)
    return app
