"""The package's shape: no import cycles, and a pipeline that runs without Prefect."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "flows" / "catalog_imagegen"
SAMPLE = PACKAGE.parents[1] / "catalog_samples" / "catalog.csv"


def module_imports() -> dict[str, set[str]]:
    """Each module's imports of the package's own modules, lazy ones inside functions too."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE.name):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else str(node.module))
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = module_imports()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(graph.get(current, ()))
        return False

    cycles = sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        for target in targets
        if reaches(target, name)
    )
    assert cycles == []


def test_the_pipeline_runs_end_to_end_without_importing_prefect(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from catalog_imagegen import pipeline
        from catalog_imagegen.definitions import build_resources
        from catalog_imagegen.planning.templates import load_seasons
        from catalog_imagegen.request import RunRequest
        from catalog_imagegen.settings_file import load_settings

        request = RunRequest(catalog={str(SAMPLE)!r}, output={str(tmp_path / "out")!r},
                             seasons=("winter",), templates=("product_card",), progress=False)
        settings = request.settings_for(load_settings())
        resources = build_resources(settings, load_seasons(settings.templates_dir))
        summary, outcomes = asyncio.run(pipeline.run_request(request, settings, resources))
        assert summary.generated == len(outcomes) > 0, summary
        assert not [m for m in sys.modules if m == "prefect" or m.startswith("prefect.")]
        print(summary.generated, summary.manifest)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    generated, manifest = result.stdout.split()
    assert int(generated) > 0
    assert (tmp_path / "out" / "manifests" / "latest.json").is_file()
    assert manifest.endswith("manifests/latest.json")
