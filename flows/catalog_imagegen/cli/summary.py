"""What a finished run prints, and the exit code it ends with.

Exit codes: 0 everything done, 1 some images failed or were not dispatched, 2 the input cannot be
used (one line, no traceback), 3 the run was stopped (bad key, out of credit, store access denied),
4 an identical run or backfill is already running. A store that cannot be used (credentials
refused, no such bucket, an endpoint that does not answer) ends every command with 3, as it stops
a run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from catalog_imagegen.storage.run_lock import ALREADY_RUNNING

EXIT_OK, EXIT_FAILURES, EXIT_BAD_INPUT, EXIT_STOPPED, EXIT_ALREADY_RUNNING = 0, 1, 2, 3, 4


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop like Ctrl-C does, keeping what is stored (Prefect lets a KeyboardInterrupt
    through its tasks and flows, where an ordinary exception would only fail one task)."""


class OneLineParser(argparse.ArgumentParser):
    """Flag errors as one line naming the flag (argparse prints its whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see `{self.prog} --help`)\n")


def report_state(state: Any) -> int:
    """Print a finished run's summary (or its one-line error) and choose the exit code."""
    if state.name == ALREADY_RUNNING:  # the same run holds the lock: this one stood down
        print(state.message)
        return EXIT_ALREADY_RUNNING
    summary = state.result(raise_on_failure=False)
    if summary is None or isinstance(summary, BaseException):
        print(f"error: {state.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print_summary(summary)
    if summary.stop_reason:
        return EXIT_STOPPED
    return EXIT_OK if summary.ok else EXIT_FAILURES


def print_summary(summary: Any) -> None:
    out = sys.stdout
    print(
        f"\nRun {summary.run_id}: {summary.planned} images planned, {summary.generated} generated, "
        f"{summary.skipped} skipped (already done), {summary.failed} failed, "
        f"{summary.not_dispatched} not dispatched; {summary.rejected_rows} catalog rows rejected",
        file=out,
    )
    archived = getattr(summary, "archived_skipped", 0)
    if archived:
        products = "product" if archived == 1 else "products"
        print(f"{archived} archived {products} skipped (--include-archived makes them)", file=out)
    if summary.stop_reason:
        print(f"STOPPED: {summary.stop_reason}", file=out)
    for failure in summary.failures[:20]:
        print(f"  failed: {failure['job']}: {failure['reason']}", file=out)
    if len(summary.failures) > 20:
        print(f"  ... and {len(summary.failures) - 20} more (see the run manifest)", file=out)
    for reject in summary.rejects[:20]:
        print(f"  {reject}", file=out)
    actual = "" if summary.actual_cost is None else f", actual ${summary.actual_cost:.2f}"
    if summary.estimated_cost or summary.actual_cost:
        print(f"Cost:         estimated ${summary.estimated_cost:.2f}{actual}", file=out)
    print_flags(summary.flags, out)
    print_renditions(summary, out)
    for label, value in (
        ("Output", summary.output),
        ("Manifest", summary.manifest),
        ("Run manifest", summary.run_manifest),
        ("Images CSV", summary.images_report),
        ("Rejects", summary.rejects_report),
        ("Shopify CSV", getattr(summary, "shopify_import", "")),
        ("Feed TSV", getattr(summary, "merchant_feed", "")),
        ("Review page", summary.review_page),
    ):
        if value:
            print(f"{label + ':':<14}{value}", file=out)
    for warning in getattr(summary, "warnings", []):
        print(f"WARNING: {warning}", file=out)
    if summary.awaiting_approval:
        command = summary.approve_command or f"catalog-imagegen approve {summary.run_id}"
        print(f"\nAWAITING APPROVAL: {command}", file=out)
    if summary.preview:
        from catalog_imagegen.definitions import PREVIEW_NOTICE

        print(f"\nNOTE: {PREVIEW_NOTICE}", file=out)


def print_renditions(summary: Any, out: Any) -> None:
    """Channel renditions derived, how many fail their channel, and what the feed left out."""
    made = getattr(summary, "renditions", 0)
    if made:
        noncompliant = getattr(summary, "noncompliant", 0)
        print(f"Renditions:   {made} derived, {noncompliant} noncompliant", file=out)
    left_out = getattr(summary, "feed_left_out", {})
    if getattr(summary, "merchant_feed", ""):
        why = ", ".join(f"{n} {reason}" for reason, n in left_out.items()) or "none"
        print(f"Merchant feed: {summary.feed_rows} rows; renditions left out: {why}", file=out)


def print_flags(flags: list[dict[str, Any]], out: Any) -> None:
    """Colour QA flags: counts by kind, then the first few with what was measured."""
    if not flags:
        return
    counts: dict[str, int] = {}
    for flag in flags:
        counts[flag["kind"]] = counts.get(flag["kind"], 0) + 1
    print("Flagged:      " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), file=out)
    for flag in flags[:20]:
        details = flag.get("message") or ", ".join(
            f"{k} {v}" for k, v in flag.items() if k not in ("job", "kind", "image")
        )
        print(f"  {flag['kind']}: {flag['job']}" + (f" ({details})" if details else ""), file=out)
    if len(flags) > 20:
        print(f"  ... and {len(flags) - 20} more (see the run manifest)", file=out)
