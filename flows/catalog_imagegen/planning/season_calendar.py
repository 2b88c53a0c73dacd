"""Which seasons a scheduled refresh works on, from the date. Pure, apart from ``load_calendar``.

Seasons carry their dates in ``seasons.toml`` (``starts = "MM-DD"``, optional ``ends``). Seasons
without ``ends`` take turns round the year, each lasting until the next one starts (spring, summer,
autumn, winter); a season with ``ends`` overlays them (holiday, late November to New Year). A
season without ``starts`` (evergreen) is never chosen by the calendar.

A refresh on day D with lead time L works on the seasons in effect on D (so SKUs added mid-season
get their images) and on D + L (so the coming season's images exist before it starts).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from catalog_imagegen.planning.templates import SEASONS_FILE, TemplateError

MonthDay = tuple[int, int]


@dataclass(frozen=True, slots=True)
class SeasonDates:
    name: str
    starts: MonthDay
    ends: MonthDay | None = None  # None: until the next season without ``ends`` starts


def seasons_on(day: date, calendar: Sequence[SeasonDates]) -> list[str]:
    """The seasons in effect on ``day``, in calendar order."""
    today: MonthDay = (day.month, day.day)
    cycle = sorted((s for s in calendar if s.ends is None), key=lambda s: s.starts)
    in_effect = []
    if cycle:
        started = [s for s in cycle if s.starts <= today]
        in_effect.append((started or cycle)[-1].name)  # before the first start: last year's last
    for season in calendar:
        if season.ends is not None and _within(today, season.starts, season.ends):
            in_effect.append(season.name)
    return in_effect


def seasons_to_refresh(today: date, calendar: Sequence[SeasonDates], lead_days: int) -> list[str]:
    """The seasons in effect now and ``lead_days`` from now, without repeats."""
    coming = seasons_on(today + timedelta(days=lead_days), calendar)
    return list(dict.fromkeys(seasons_on(today, calendar) + coming))


def _within(day: MonthDay, starts: MonthDay, ends: MonthDay) -> bool:
    if starts <= ends:
        return starts <= day < ends
    return day >= starts or day < ends  # the window wraps round New Year


def parse_month_day(text: str) -> MonthDay:
    month, _, day = text.partition("-")
    value = (int(month), int(day))
    date(2024, *value)  # raises ValueError for 02-30 and the like (2024 allows 02-29)
    return value


def calendar_from(seasons: Mapping[str, Mapping[str, object]], *, file: str) -> list[SeasonDates]:
    calendar = []
    for name, values in seasons.items():
        if "starts" not in values:
            continue
        try:
            starts = parse_month_day(str(values["starts"]))
            ends = parse_month_day(str(values["ends"])) if "ends" in values else None
        except ValueError:
            raise TemplateError(f"{file}: season '{name}': dates must be MM-DD") from None
        calendar.append(SeasonDates(name, starts, ends))
    return calendar


def load_calendar(templates_dir: Path) -> list[SeasonDates]:
    path = templates_dir / SEASONS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(f"{path}: {error}") from None
    return calendar_from(data, file=str(path))
