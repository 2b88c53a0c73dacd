"""The ``catalog_backfill`` Prefect flow: redo exactly a slice of a catalog, never paying twice.

It is ``catalog_refresh`` holding the request's run lock: plan, select the slice and skip what is
stored (unless forced), take the lock, make the rest, publish, release. An identical backfill
started meanwhile (a double click, a retried webhook) ends at once as ``AlreadyRunning``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State

from catalog_imagegen.flows.refresh import ALREADY_RUNNING, run_flow
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings_file import load_settings
from catalog_imagegen.storage.run_lock import idempotency_key


@flow(name="catalog_backfill")
async def catalog_backfill(request: RunRequest) -> State[Any]:
    """Make the images of the request's slice of the catalog (``force``: make them again;
    ``only_flagged``: remake the images colour QA flagged, of these kinds or, if empty, any)."""
    return await run_flow(request, locked=True)


def idempotency_key_for(request: RunRequest) -> str:
    """The key of a ``catalog_backfill`` run of ``request``, for triggering it through a
    deployment: ``run_deployment(name, parameters={"request": r}, idempotency_key=...)``. It is
    the key the flow locks on, so a direct run and a deployment run exclude each other."""
    settings = request.settings_for(load_settings())
    return idempotency_key(request.catalog, request.lock_parameters(settings))


__all__ = ["ALREADY_RUNNING", "catalog_backfill", "idempotency_key_for"]
