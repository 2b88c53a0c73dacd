"""Which seasons the scheduled refresh works on, from the date and the lead time."""

from __future__ import annotations

from datetime import date

import pytest

from catalog_imagegen.planning.season_calendar import (
    SeasonDates,
    calendar_from,
    load_calendar,
    seasons_on,
    seasons_to_refresh,
)
from catalog_imagegen.planning.templates import TemplateError
from tests.plugins.ops import TEMPLATES

CALENDAR = [
    SeasonDates("spring", (3, 1)),
    SeasonDates("summer", (6, 1)),
    SeasonDates("autumn", (9, 1)),
    SeasonDates("winter", (12, 1)),
    SeasonDates("holiday", (11, 20), ends=(12, 27)),
]


@pytest.mark.parametrize(
    ("day", "lead", "expected"),
    [
        ("2026-04-10", 30, ["spring"]),
        ("2026-05-10", 30, ["spring", "summer"]),  # summer is 22 days away
        ("2026-08-15", 30, ["summer", "autumn"]),
        ("2026-11-10", 30, ["autumn", "winter", "holiday"]),
        ("2026-12-30", 30, ["winter"]),  # holiday is over
        ("2027-01-15", 0, ["winter"]),  # before the year's first start: last year's winter
        ("2026-02-20", 14, ["winter", "spring"]),
    ],
)
def test_seasons_to_refresh(day: str, lead: int, expected: list[str]) -> None:
    assert seasons_to_refresh(date.fromisoformat(day), CALENDAR, lead) == expected


def test_overlay_window_that_wraps_round_new_year() -> None:
    calendar = [SeasonDates("winter", (12, 1)), SeasonDates("sale", (12, 20), ends=(1, 10))]
    assert seasons_on(date(2027, 1, 5), calendar) == ["winter", "sale"]
    assert seasons_on(date(2027, 1, 10), calendar) == ["winter"]


def test_shipped_seasons_have_dates_and_evergreen_is_never_scheduled() -> None:
    names = {season.name for season in load_calendar(TEMPLATES)}
    assert names == {"spring", "summer", "autumn", "winter", "holiday"}


def test_bad_dates_name_the_season() -> None:
    with pytest.raises(TemplateError, match="season 'winter': dates must be MM-DD"):
        calendar_from({"winter": {"starts": "12-32"}}, file="seasons.toml")
