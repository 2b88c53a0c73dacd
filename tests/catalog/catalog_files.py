"""Fixture catalogs and the bundled templates, shared by the catalog tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from catalog_imagegen.catalog.model import CatalogRead
from catalog_imagegen.planning.plan import Plan, PlanOptions, plan_jobs
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.settings import default_templates_dir

FIXTURES = Path(__file__).parent / "fixtures"
APPAREL = FIXTURES / "shopify-apparel.csv"
HOME_AND_GARDEN = FIXTURES / "shopify-home-and-garden.csv"
COLOR_SIZE = FIXTURES / "shopify-color-size.csv"
MERCHANT_CENTER = FIXTURES / "merchant-center.tsv"


def plan(catalog: CatalogRead, *templates: str) -> Plan:
    folder = default_templates_dir()
    options = PlanOptions(model="gpt-image-2", templates=templates)
    return plan_jobs(catalog.products, load_templates(folder), load_seasons(folder), options)


def jobs_per_slot(catalog: CatalogRead, *templates: str) -> Counter[tuple[str, str, str, str]]:
    """How many jobs each (sku, colour key, season, template) got: 1 everywhere when right."""
    result = plan(catalog, *templates)
    assert result.rejects == []
    return Counter((j.sku, j.colour.key, j.season, j.template) for j in result.jobs)
