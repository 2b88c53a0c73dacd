"""The flags of ``collect`` and ``cancel``; their handlers import ``cli.batch`` when called, so
``--help`` and input errors stay quick."""

from __future__ import annotations

import argparse
from typing import Any


def add_batch_commands(commands: Any, add_store_flags: Any) -> None:
    collect = commands.add_parser("collect", help="store and publish every finished batch")
    add_store_flags(collect)
    add_endpoint_flags(collect)
    collect.add_argument("--wait", action="store_true", help="stay until no batch is open")
    collect.add_argument(
        "--resubmit", action="store_true", help="send again what expired or cancelled batches left"
    )
    collect.set_defaults(handler=collect_handler)
    cancel = commands.add_parser("cancel", help="cancel a run's open batches")
    cancel.add_argument("run_id", help="the run id `run --via batch` printed")
    add_store_flags(cancel)
    add_endpoint_flags(cancel)
    cancel.set_defaults(handler=cancel_handler)


def add_endpoint_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=["openai", "wisgate"], help="endpoint preset")
    parser.add_argument("--base-url", help="any OpenAI-compatible endpoint")


def collect_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.batch import collect_command

    return collect_command(args)


def cancel_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.batch import cancel_command

    return cancel_command(args)
