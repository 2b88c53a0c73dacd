"""The commands that operate the pipeline: ``approve``, ``watch`` (an inbox) and ``serve``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from catalog_imagegen.cli.request_flags import add_store_flags, store_flags


def add_service_commands(commands: argparse._SubParsersAction[Any]) -> None:
    approve = commands.add_parser("approve", help="publish a run held for approval")
    approve.add_argument("run_id", help="the run to publish (see its review page)")
    approve.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="SKU/colour/season[/template]",
        help="leave this image out and make it again next run (repeatable)",
    )
    approve.add_argument("--reason", default="", help="why, added to the next prompt")
    add_store_flags(approve)  # the store the run was written to, named as `run` names it
    approve.set_defaults(handler=approve_command)

    watch = commands.add_parser("watch", help="run every catalog file dropped into an inbox")
    watch.add_argument("inbox", nargs="?", help="inbox folder (default CATALOG_IMAGEGEN_INBOX)")
    add_store_flags(watch)  # where the runs store their images, named as `run` names it
    watch.add_argument("--once", action="store_true", help="look once, run what is there, exit")
    watch.add_argument("--poll", type=float, default=10.0, help="seconds between looks")
    watch.add_argument(
        "--settle", type=float, default=10.0, help="seconds a file must be unchanged first"
    )
    watch.set_defaults(handler=watch_command)

    serve = commands.add_parser("serve", help="serve the scheduled and file-drop deployments")
    serve.add_argument("--inbox", help="inbox the file-drop deployment polls")
    serve.add_argument("--catalog", help="catalog the seasonal refresh reads")
    serve.add_argument("--review-host", default="127.0.0.1", help="review app address")
    serve.add_argument("--review-port", type=int, default=8765, help="review app port")
    serve.add_argument("--no-review", action="store_true", help="do not start the review app")
    serve.set_defaults(handler=serve_command)


def add_server_command(commands: argparse._SubParsersAction[Any]) -> None:
    server = commands.add_parser(
        "server", help="the shared local Prefect server that runs start (status, stop)"
    )
    server.add_argument("action", choices=("status", "stop"))
    server.set_defaults(handler=server_command)


def server_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.flows.local_server import running_server, stop_server

    if args.action == "stop":
        stopped = stop_server()
        print(f"stopped the local Prefect server at {stopped.url}" if stopped else "not running")
        return 0
    state = running_server()
    if state is None:
        print("not running (the next run starts it)")
        return 0
    ui = state.url.removesuffix("/api")
    print(
        f"running: API {state.url}, UI {ui} (pid {state.pid}); stop: catalog-imagegen server stop"
    )
    return 0


def approve_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.review.approval import ApprovalError, RejectSelector, approve_run
    from catalog_imagegen.settings_file import load_settings_with

    store = build_store(load_settings_with(**store_flags(args)))
    try:
        rejects = [RejectSelector.parse(text) for text in args.reject]
        approval = approve_run(store, args.run_id, rejects, reason=args.reason)
    except ApprovalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Run {approval.run_id}: {approval.approved} images published to the storefront")
    for slot in approval.rejected:
        print(f"  rejected (made again next run): {' / '.join(slot)}")
    return 0


def watch_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.flows.file_drop import watch_inbox

    return watch_inbox(
        args.inbox, once=args.once, poll=args.poll, settle=args.settle, **store_flags(args)
    )


def serve_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.settings_file import load_settings_with

    settings = load_settings_with(inbox=args.inbox, catalog=args.catalog)
    if not args.no_review:  # its store checked first: one line, exit 3, before Prefect loads
        from catalog_imagegen.review.app.server import ReviewAppError, start_beside_service

        try:
            start_beside_service(settings, args.review_host, args.review_port)
        except ReviewAppError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    from catalog_imagegen.flows.service import serve_deployments

    serve_deployments(settings)
    return 0
