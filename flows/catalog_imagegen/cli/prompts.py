"""``catalog-imagegen prompts``: the rendered prompts and image settings a run would send."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from catalog_imagegen import pipeline
from catalog_imagegen.cli.request_flags import read_skus
from catalog_imagegen.cli.summary import EXIT_OK
from catalog_imagegen.definitions import build_store
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.selection import select_jobs
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings_file import load_settings


def prompts_command(args: argparse.Namespace) -> int:
    request = RunRequest.checked(
        catalog=args.catalog,
        catalog_format=args.format,
        sheet=args.sheet,
        include_archived=args.include_archived,
        seasons=tuple(args.seasons),
        templates=tuple(args.templates),
        skus=read_skus(args.skus),
        colours=tuple(args.colours),
        model=args.model,
    )
    settings = request.settings_for(load_settings())
    prepared = pipeline.prepare(request, settings, build_store(settings))
    for job in select_jobs(prepared.jobs, request.selection(), {}, set(), set()):
        if args.json:
            print(json.dumps(job_fields(job)))
            continue
        s = job.settings
        print(
            f"# {job.label}  [{job.mode}, {job.model}, {s.size}, {s.quality}, "
            f"{s.output_format}, n={s.n}, template v{job.template_version}]"
        )
        if job.source_image:
            print(f"# source image: {job.source_image}")
        print(job.prompt + "\n")
    for reject in prepared.rejects:
        print(reject.describe(), file=sys.stderr)
    return EXIT_OK


def job_fields(job: Job) -> dict[str, Any]:
    s = job.settings
    return {
        "sku": job.sku,
        "colour": job.colour.name,
        "season": job.season,
        "template": job.template,
        "template_version": job.template_version,
        "mode": job.mode,
        "model": job.model,
        "size": s.size,
        "quality": s.quality,
        "output_format": s.output_format,
        "n": s.n,
        "source_image": job.source_image,
        "key": job.key,
        "prompt": job.prompt,
    }
