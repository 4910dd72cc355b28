"""Build ``businesstime.Schedule`` objects from calendars and agents' published hours."""

from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from support.businesstime import Interval, Schedule, interval_for
from support.models import AgentProfile, BusinessCalendar


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None)


def _weekly(rows: list[tuple[int, Interval]]) -> dict[int, tuple[Interval, ...]]:
    weekly: dict[int, list[Interval]] = {}
    for weekday, interval in rows:
        weekly.setdefault(weekday, []).append(interval)
    return {day: tuple(sorted(intervals)) for day, intervals in weekly.items()}


def calendar_schedule(calendar: BusinessCalendar) -> Schedule:
    """The calendar's schedule: weekly hours minus public holidays and clinic closures."""
    weekly = _weekly([(h.weekday, interval_for(h.opens, h.closes)) for h in calendar.hours.all()])
    closures = frozenset(calendar.closures.values_list("date", flat=True))
    public = (
        _public_holidays(calendar.holiday_country, calendar.holiday_subdivision)
        if calendar.holiday_country
        else None
    )

    def is_closed(day: date) -> bool:
        return day in closures or (public is not None and day in public)

    return Schedule(ZoneInfo(calendar.timezone), weekly, is_closed)


def agent_schedule(agent: AgentProfile) -> Schedule:
    """An agent's published hours (prefetch ``hours`` to avoid a query per agent)."""
    weekly = _weekly([(h.weekday, interval_for(h.starts, h.ends)) for h in agent.hours.all()])
    return Schedule(ZoneInfo(agent.timezone), weekly)
