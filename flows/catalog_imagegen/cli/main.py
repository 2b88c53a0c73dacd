"""The ``catalog-imagegen`` command: a thin shell over the pipeline and the flows.

Every input error (catalog, template, flag, setting, run id) is reported here as one line naming
what is wrong, with exit code 2 and no traceback, before Prefect or any provider starts. So is a
store that cannot be used (an unreachable endpoint, a missing bucket, refused credentials): one
line naming the bucket and endpoint or the folder, never a credential, and exit code 3 as a run
that stops on it. Exit codes are in ``cli.summary``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.cli.batch_commands import add_batch_commands
from catalog_imagegen.cli.lab import add_lab_command
from catalog_imagegen.cli.request_flags import (
    add_backfill_flags,
    add_catalog_flags,
    add_run_flags,
    add_selection_flags,
    add_store_flags,
)
from catalog_imagegen.cli.scale_out import add_deploy_command, add_shard_flags
from catalog_imagegen.cli.service import add_server_command, add_service_commands
from catalog_imagegen.cli.summary import EXIT_BAD_INPUT, EXIT_STOPPED, OneLineParser, Terminated
from catalog_imagegen.planning.templates import TemplateError
from catalog_imagegen.request import RequestError
from catalog_imagegen.settings import SettingsError
from catalog_imagegen.storage.base import StoreError
from catalog_imagegen.storage.run_history import UnknownRun

BAD_INPUT = (CatalogError, TemplateError, RequestError, SettingsError, UnknownRun)
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    arguments = sys.argv[1:] if argv is None else list(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if arguments[:1] == ["lab"]:  # drafts, options and sub-commands mix: its own parsers
            from catalog_imagegen.cli.lab import lab_main

            return lab_main(arguments[1:])
        args = build_parser().parse_args(arguments)
        code: int = args.handler(args)
    except BAD_INPUT as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as error:  # every command that reads or writes a store ends here
        print(f"error: {error}", file=sys.stderr)
        return EXIT_STOPPED
    except Terminated:
        stop_now("terminated: stored images are kept; run again to finish", EXIT_TERMINATED)
    except KeyboardInterrupt:
        stop_now("interrupted: stored images are kept; run again to finish", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``prompts ... | head``): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def stop_now(message: str, code: int) -> NoReturn:
    """End the process at once. Stored images and manifests are already whole on disk; waiting
    for Prefect's exit handlers to flush logs to a server that may be gone can hang forever."""
    print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="catalog-imagegen",
        description="Catalog in, product images and a storefront manifest out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("run", help="make every image a catalog needs, and publish them")
    add_request_flags(run)
    add_shard_flags(run)
    run.set_defaults(handler=run_handler)

    backfill = commands.add_parser(
        "backfill", help="make (or with --force remake) the images of a slice of the catalog"
    )
    add_request_flags(backfill)
    backfill.set_defaults(handler=backfill_handler)

    status = commands.add_parser("status", help="the last runs: what, when, outcomes, cost")
    add_store_flags(status)
    status.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    status.add_argument("--json", action="store_true", help="one JSON object per line")
    status.set_defaults(handler=status_handler)
    from catalog_imagegen.cli.review import add_review_command

    add_review_command(commands, add_store_flags)

    prompts = commands.add_parser("prompts", help="print the rendered prompts and their settings")
    add_catalog_flags(prompts)
    add_selection_flags(prompts)
    prompts.add_argument("--json", action="store_true", help="one JSON object per line")
    prompts.set_defaults(handler=prompts_handler)

    add_service_commands(commands)
    add_server_command(commands)
    add_deploy_command(commands)
    add_lab_command(commands)
    add_batch_commands(commands, add_store_flags)
    return parser


def add_request_flags(parser: argparse.ArgumentParser) -> None:
    add_catalog_flags(parser)
    add_selection_flags(parser)
    add_backfill_flags(parser)
    add_run_flags(parser)


# Handlers import their command's module when called, so `--help` and input errors stay quick.
def run_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.run import run_command

    return run_command(args)


def backfill_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.run import backfill_command

    return backfill_command(args)


def status_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.status import status_command

    return status_command(args)


def prompts_handler(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.prompts import prompts_command

    return prompts_command(args)


if __name__ == "__main__":
    sys.exit(main())
