"""``catalog-imagegen review``: the review app for an output (folder or bucket)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def add_review_command(
    commands: argparse._SubParsersAction[Any],
    add_store_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    review = commands.add_parser("review", help="serve the review app: approve, reject, publish")
    add_store_flags(review)
    review.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default loopback)"
    )
    review.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    review.set_defaults(handler=review_command)


def review_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.review.app.server import ReviewAppError, review_context, review_server
    from catalog_imagegen.settings_file import load_settings_with

    settings = load_settings_with(
        output=args.output, bucket=args.bucket, prefix=args.prefix,
        public_base_url=args.public_base_url, progress=False,
    )  # fmt: skip
    store = build_store(settings)
    store.check_access()  # a store that cannot be used ends the command in cli.main, not a page
    try:
        context = review_context(store, settings, args.host)
    except ReviewAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Review app for {store.describe()}: http://{args.host}:{args.port}/", flush=True)
    review_server(context, args.host, args.port).run()
    return 0
