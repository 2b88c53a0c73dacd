"""``catalog-imagegen lab``: try template drafts beside the current template on a few products,
``lab choose`` a preferred draft with a note, ``lab promote`` a draft over the template."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalog_imagegen.cli.request_flags import STORE_FLAGS, add_store_flags, store_flags
from catalog_imagegen.cli.summary import (
    EXIT_BAD_INPUT,
    EXIT_FAILURES,
    EXIT_OK,
    EXIT_STOPPED,
    OneLineParser,
)

ENDPOINT_FLAGS = ("concurrency", "rpm", "model")


def add_lab_command(commands: Any) -> None:
    """Listed in the command's help; ``main`` hands ``lab ...`` to ``lab_main`` before parsing,
    because drafts, options and the ``choose``/``promote`` sub-commands mix freely."""
    lab = commands.add_parser(
        "lab", add_help=False, help="try template drafts on a few products; lab choose; promote"
    )
    lab.add_argument("arguments", nargs=argparse.REMAINDER)
    lab.set_defaults(handler=lambda args: lab_main(args.arguments))


def lab_main(argv: Sequence[str]) -> int:
    handlers = {
        "promote": (promote_parser, promote_command),
        "choose": (choose_parser, choose_command),
    }
    parser, handler = handlers.get(argv[0] if argv else "", (try_parser, try_command))
    rest = argv[1:] if argv and argv[0] in handlers else argv
    return handler(parser().parse_args(rest))


def try_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="catalog-imagegen lab",
        description="Try template drafts beside the current template on a few products. "
        "Also: `lab choose LAB_ID VERSION --note ...`, `lab promote DRAFT --as TEMPLATE`.",
    )
    parser.add_argument("drafts", nargs="+", type=Path, metavar="DRAFT", help="draft .j2 files")
    parser.add_argument("--against", help="the template the drafts replace (default: by name)")
    parser.add_argument("--catalog", help="the catalog (default CATALOG_IMAGEGEN_CATALOG)")
    parser.add_argument("--sku", action="append", default=[], dest="skus", help="SKU or glob")
    parser.add_argument("--colour", action="append", default=[], dest="colours")
    parser.add_argument("--season", action="append", default=[], dest="seasons")
    parser.add_argument("--slots", type=int, default=6, help="at most this many slots (6)")
    parser.add_argument("--max-cost", type=float, help="stop dispatching at this lab cost (USD)")
    parser.add_argument("--format", help="the catalog's format (default: detected)")
    parser.add_argument("--sheet", help="the Excel sheet to read")
    parser.add_argument("--concurrency", type=int, help="image requests in flight")
    parser.add_argument("--rpm", type=int, help="images per minute the provider allows")
    parser.add_argument("--model", help="image model (default gpt-image-2)")
    parser.add_argument("--provider", choices=["openai", "wisgate"], help="endpoint preset")
    parser.add_argument("--base-url", help="any OpenAI-compatible endpoint")
    add_store_flags(parser)
    return parser


def choose_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="catalog-imagegen lab choose", description="record the version a reviewer prefers"
    )
    parser.add_argument("lab_id", help="the lab run (its page names it)")
    parser.add_argument("version", help="the version's name on the page (a draft, or current)")
    parser.add_argument("--note", default="", help="why")
    parser.add_argument("--by", help="who chose (default: your user name)")
    add_store_flags(parser)
    return parser


def promote_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="catalog-imagegen lab promote",
        description="copy a draft over a template, keeping the old one in templates/.history/",
    )
    parser.add_argument("draft", type=Path, help="the draft (or a .history file, to restore)")
    parser.add_argument("--as", dest="template", required=True, help="the template it replaces")
    parser.add_argument("--catalog", help="catalog for the dry run (CATALOG_IMAGEGEN_CATALOG)")
    add_store_flags(parser)
    return parser


def try_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.catalog.model import CatalogError
    from catalog_imagegen.cli.endpoint_check import endpoint_refusal
    from catalog_imagegen.lab.experiment import EmptySample, LabSample
    from catalog_imagegen.lab.runner import LabRequest, run_lab
    from catalog_imagegen.planning.templates import TemplateError
    from catalog_imagegen.settings_file import SettingsFileError

    if args.slots < 1:
        return _bad_input("--slots must be at least 1")
    try:
        settings = _settings(args, (*STORE_FLAGS, *ENDPOINT_FLAGS), endpoint=True)
        catalog = args.catalog or settings.catalog
        if not catalog:
            return _bad_input("--catalog: which catalog? (or set CATALOG_IMAGEGEN_CATALOG)")
        sample = LabSample(
            skus=tuple(args.skus),
            colours=tuple(args.colours),
            seasons=tuple(args.seasons),
            limit=args.slots,
            catalog_format=args.format,
            sheet=args.sheet,
        )
        request = LabRequest(catalog, tuple(args.drafts), args.against, sample, args.max_cost)
        if (refused := endpoint_refusal(settings)) is not None:  # as `run` checks it
            return refused
        result = run_lab(request, settings)
    except (CatalogError, TemplateError, EmptySample, SettingsFileError) as error:
        return _bad_input(str(error))
    print_lab_result(result)
    if result.stop_reason:
        return EXIT_STOPPED
    counts = result.counts()
    return EXIT_FAILURES if counts["failed"] or counts["not_dispatched"] else EXIT_OK


def print_lab_result(result: Any) -> None:
    document = result.document
    counts = result.counts()
    names = [v["name"] for v in document["versions"]]
    cost = document["cost"]
    actual = "" if cost["actual"] is None else f", actual ${cost['actual']:.2f}"
    print(
        f"Lab run {result.lab_id}: {document['template']}, {' / '.join(names)} on "
        f"{len(document['slots'])} slots: {counts['generated']} made, {counts['skipped']} "
        f"already in the lab, {counts['failed']} failed, {counts['not_dispatched']} not made"
    )
    if result.stop_reason:
        print(f"STOPPED: {result.stop_reason}")
    for reject in document["rejects"][:20]:
        print(f"  {reject}")
    if document["preview"]:
        print(f"Lab cost:     ${cost['estimated']:.2f} if made for real (offline previews: free)")
    else:
        spent = f"estimated ${cost['estimated']:.2f}{actual}"
        print(f"Lab cost:     {spent} (lab spend, not production spend)")
    print(f"Lab spend:    ${result.spend:.2f} in all, over {result.lab_runs} charged lab run(s)")
    print(f"Lab page:     {result.page_url}")
    print(f"Lab manifest: {result.manifest_url}")
    print(f'Choose:       catalog-imagegen lab choose {result.lab_id} VERSION --note "why"')


def choose_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.lab.choices import UnknownVersion, choose
    from catalog_imagegen.lab.record import UnknownLabRun, load_lab_document
    from catalog_imagegen.lab.runner import write_lab_page
    from catalog_imagegen.lab.store import LabStore
    from catalog_imagegen.settings_file import SettingsFileError

    by = args.by or _user()
    try:
        store = LabStore(build_store(_settings(args, STORE_FLAGS)))
        choice = choose(store, args.lab_id, args.version, note=args.note, by=by)
        page = write_lab_page(store, load_lab_document(store, args.lab_id))
    except (UnknownLabRun, UnknownVersion, SettingsFileError) as error:
        return _bad_input(str(error))
    print(f"{args.version}: {choice.describe()}")
    print(f"Lab page:     {page}")
    return EXIT_OK


def promote_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.run import dry_run_command
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.lab.choices import choices_of
    from catalog_imagegen.lab.promote import draft_template, promote
    from catalog_imagegen.lab.store import LabStore
    from catalog_imagegen.planning.templates import TemplateError
    from catalog_imagegen.request import RunRequest
    from catalog_imagegen.settings_file import SettingsFileError

    try:
        settings = _settings(args, STORE_FLAGS)
        draft = draft_template(args.draft, args.template, settings.templates_dir)
        # The store is read before the template is replaced: a store that cannot be used ends
        # the command (cli.main, exit 3) with nothing promoted.
        chosen = list(choices_of(draft.version, LabStore(build_store(settings))))
        promotion = promote(args.draft, args.template, settings.templates_dir)
    except (TemplateError, SettingsFileError) as error:
        return _bad_input(str(error))
    print("\n".join(promotion.lines()))
    for choice in chosen:
        print(f"  {choice.describe()}")
    if not chosen:
        print("  no reviewer chose this version in a lab run")
    catalog = args.catalog or settings.catalog
    if not catalog:
        print("What the next run regenerates: give --catalog to see it and its cost")
        return EXIT_OK
    print("What the next run regenerates:")
    request = RunRequest.checked(catalog=catalog, **store_flags(args))
    return dry_run_command(request, request.settings_for(settings))


def _settings(args: argparse.Namespace, names: Sequence[str], *, endpoint: bool = False) -> Any:
    from catalog_imagegen.settings_file import load_settings_with

    values = {name: getattr(args, name) for name in names}
    if endpoint:
        values |= {"provider": args.provider, "base_url": args.base_url, "progress": False}
    return load_settings_with(**values)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def _bad_input(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
