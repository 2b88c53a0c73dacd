"""Splitting a run into shards: the budget shares, each shard's parameters, the combined summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_imagegen.cli.main import main
from catalog_imagegen.planning.sharding import (
    ShardBudget,
    ShardingError,
    combine_summaries,
    shard_requests,
    split_budget,
)
from catalog_imagegen.request import RunRequest
from tests.conftest import SAMPLE_CATALOG


@given(
    shards=st.integers(1, 16),
    extra_slots=st.integers(0, 200),
    rpm=st.one_of(st.none(), st.integers(16, 5000)),
)
def test_shares_sum_to_the_accounts_limits_and_differ_by_at_most_one(
    shards: int, extra_slots: int, rpm: int | None
) -> None:
    concurrency = shards + extra_slots
    budgets = split_budget(concurrency, rpm, shards)
    slots = [b.concurrency for b in budgets]
    assert len(budgets) == shards and sum(slots) == concurrency and min(slots) >= 1
    assert max(slots) - min(slots) <= 1
    if rpm is None:
        assert {b.rpm for b in budgets} == {None}
    else:
        rates = [b.rpm or 0 for b in budgets]
        assert sum(rates) == rpm and max(rates) - min(rates) <= 1


def test_more_shards_than_request_slots_or_images_per_minute_is_refused() -> None:
    with pytest.raises(ShardingError, match="4 shards need at least 4 request slots"):
        split_budget(3, None, 4)
    with pytest.raises(ShardingError, match="--rpm of at least 4"):
        split_budget(8, 3, 4)


def test_each_shard_gets_its_index_share_and_part_of_the_caps() -> None:
    run = RunRequest(catalog="/shared/catalog.csv", output="s3://bucket/p", max_images=10)
    budgets = [ShardBudget(3, 40), ShardBudget(2, 40), ShardBudget(2, 40)]
    shards = shard_requests(run, budgets)
    assert [(s.shard.index, s.shard.count) for s in shards if s.shard] == [(0, 3), (1, 3), (2, 3)]
    assert [s.concurrency for s in shards] == [3, 2, 2]
    assert [s.max_images for s in shards] == [4, 3, 3]
    assert all(s.catalog == "/shared/catalog.csv" and s.progress is False for s in shards)
    assert all(s.seasons == () for s in shards)  # empty selections stay the flow's defaults


def test_combined_summary_adds_counts_and_names_shards_that_did_not_finish() -> None:
    row = {"run_id": "r1", "planned": 5, "generated": 4, "skipped": 1, "rejected_rows": 2}
    combined = combine_summaries(
        [
            ("shard-1-of-3", "Completed", row),
            ("shard-2-of-3", "Completed", row | {"run_id": "r2", "rejected_rows": 1}),
            ("shard-3-of-3", "Crashed", None),
        ]
    )
    assert combined.counts["planned"] == 10 and combined.counts["generated"] == 8
    assert combined.counts["rejected_rows"] == 2  # every shard reads the whole catalog
    assert combined.run_ids == ["r1", "r2"]
    assert combined.problems == ["shard-3-of-3: Crashed, no summary reported"]
    assert not combined.ok


def test_sharded_run_without_a_prefect_server_says_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # whatever ran before
        assert main(["run", str(SAMPLE_CATALOG), "--shards", "2"]) == 2
    assert "PREFECT_API_URL" in capsys.readouterr().err


def test_sharded_run_before_the_deployment_exists_says_to_deploy(
    prefect_harness: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SAMPLE_CATALOG), "--shards", "2"]) == 2
    assert "catalog-imagegen deploy --pool NAME" in capsys.readouterr().err


def test_shards_get_absolute_shared_locations_and_never_the_api_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from catalog_imagegen.cli.main import build_parser
    from catalog_imagegen.cli.request_flags import request_from_args
    from catalog_imagegen.cli.scale_out import shared_request
    from catalog_imagegen.settings import settings_from_env

    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-in-parameters-123")
    args = build_parser().parse_args(["run", "cat.csv", "--shards", "2", "--output", "out"])
    settings = settings_from_env().with_overrides(output="out")
    request = shared_request(request_from_args(args), settings)
    assert request.catalog == str(tmp_path / "cat.csv")  # tests run in tmp_path
    assert request.output == str(tmp_path / "out")
    assert "sk-never" not in request.model_dump_json()
