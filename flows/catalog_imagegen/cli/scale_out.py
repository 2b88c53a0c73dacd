"""``catalog-imagegen deploy --pool NAME`` and ``catalog-imagegen run CATALOG --shards N``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog_imagegen.cli.summary import EXIT_STOPPED

if TYPE_CHECKING:
    import httpx

    from catalog_imagegen.request import RunRequest
    from catalog_imagegen.settings import Settings

NO_SERVER = (
    "--shards needs a Prefect server: set PREFECT_API_URL (e.g. http://prefect-host:4200/api)"
)


def add_deploy_command(commands: argparse._SubParsersAction[Any]) -> None:
    deploy = commands.add_parser(
        "deploy", help="register the shard deployment on a process work pool (for --shards)"
    )
    deploy.add_argument("--pool", required=True, help="process work pool (created if missing)")
    deploy.set_defaults(handler=deploy_command)


def add_shard_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shards",
        type=int,
        help="split the catalog into N deployment runs on a work pool (needs PREFECT_API_URL)",
    )
    parser.add_argument("--pool", help="with --shards: (re)register the deployment on this pool")


def deploy_command(args: argparse.Namespace) -> int:
    import httpx

    from catalog_imagegen.flows.scale_out import deploy_shard_flow
    from catalog_imagegen.planning.sharding import SHARD_DEPLOYMENT_NAME

    if not api_url():
        print(f"error: {NO_SERVER.replace('--shards', 'deploy')}", file=sys.stderr)
        return 2
    try:
        asyncio.run(deploy_shard_flow(args.pool))
    except httpx.TransportError as error:
        return server_unreachable(error)
    print(f"Deployment {SHARD_DEPLOYMENT_NAME} on work pool {args.pool!r}.")
    print(f"Start workers where the package is installed: prefect worker start --pool {args.pool}")
    return 0


def sharded_run_command(args: argparse.Namespace, request: RunRequest, settings: Settings) -> int:
    import httpx

    from catalog_imagegen.flows.scale_out import catalog_sharded_run
    from catalog_imagegen.planning.sharding import (
        SHARD_DEPLOYMENT_NAME,
        ShardingError,
        split_budget,
    )

    if not api_url():
        print(f"error: {NO_SERVER}", file=sys.stderr)
        return 2
    try:
        split_budget(settings.concurrency, settings.rpm, args.shards)
    except ShardingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        ready = deployment_ready(args.pool)
    except httpx.TransportError as error:
        return server_unreachable(error)
    if not ready:
        print(
            f"error: no deployment {SHARD_DEPLOYMENT_NAME}: "
            "run `catalog-imagegen deploy --pool NAME` first (or pass --pool)",
            file=sys.stderr,
        )
        return 2
    state: Any = asyncio.run(
        catalog_sharded_run(  # type: ignore[arg-type]
            request=shared_request(request, settings),
            shards=args.shards,
            concurrency=settings.concurrency,
            rpm=settings.rpm,
            return_state=True,
        )
    )
    return report(state)


def deployment_ready(pool: str | None) -> bool:
    """Register the shard deployment on ``pool`` when one is named; else whether it exists."""
    from catalog_imagegen.flows.scale_out import deploy_shard_flow, shard_deployment_exists

    if pool:
        asyncio.run(deploy_shard_flow(pool))
        return True
    return asyncio.run(shard_deployment_exists())


def shared_request(request: RunRequest, settings: Settings) -> RunRequest:
    """The run's request as every shard gets it. Where images go and which model makes them are
    settled here, so every shard agrees whatever its worker's environment says. Workers run in a
    temporary directory, so local paths become absolute: a folder every worker reaches, or S3."""
    return request.model_copy(
        update={
            "catalog": reachable(request.catalog),
            "output": None if settings.bucket else reachable(settings.output),
            "model": settings.model,
            "bucket": settings.bucket,
            "prefix": settings.prefix or None,
            "public_base_url": settings.public_base_url,
        }
    )


def reachable(location: str) -> str:
    return location if "://" in location else str(Path(location).absolute())


def report(state: Any) -> int:
    combined = state.result(raise_on_failure=False)
    if combined is None or isinstance(combined, BaseException):
        print(f"error: {state.message}", file=sys.stderr)
        return 1
    print(f"\nRuns {', '.join(combined.run_ids)}: {combined.describe()}")
    for problem in combined.problems:
        print(f"  {problem}")
    for label, value in (("Output", combined.output), ("Manifest", combined.manifest)):
        if value:
            print(f"{label + ':':<14}{value}")
    return 0 if combined.ok else 1


def server_unreachable(error: httpx.TransportError) -> int:
    """The Prefect server does not answer: one line naming it, not httpx's traceback."""
    print(
        f"error: cannot reach the Prefect server at {api_url()} ({type(error).__name__}): "
        "check PREFECT_API_URL and that the server is up",
        file=sys.stderr,
    )
    return EXIT_STOPPED


def api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None
