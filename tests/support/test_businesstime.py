"""Business-time arithmetic: nights, weekends, holidays, closures, DST."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from support.businesstime import (
    Schedule,
    add_business_minutes,
    business_minutes_between,
    interval_for,
    is_open_at,
)

NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = {day: ((9 * 60, 17 * 60),) for day in range(5)}


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def schedule(closed: set[date] | None = None) -> Schedule:
    closed = closed or set()
    return Schedule(NY, WEEKDAYS_9_TO_5, lambda d: d in closed)


def test_within_one_day() -> None:
    assert add_business_minutes(schedule(), ny(2026, 3, 2, 10, 0), 90) == ny(2026, 3, 2, 11, 30)


def test_overnight_carries_to_next_morning() -> None:
    # Monday 16:00 + 2h: 1h left Monday, 1h Tuesday from 09:00.
    due = add_business_minutes(schedule(), ny(2026, 3, 2, 16, 0), 120)
    assert due == ny(2026, 3, 3, 10, 0)


def test_start_at_night_starts_next_opening() -> None:
    assert add_business_minutes(schedule(), ny(2026, 3, 2, 22, 0), 30) == ny(2026, 3, 3, 9, 30)
    assert add_business_minutes(schedule(), ny(2026, 3, 3, 6, 0), 30) == ny(2026, 3, 3, 9, 30)


def test_weekend_is_skipped() -> None:
    # Friday 16:30 + 1h → Monday 09:30.
    due = add_business_minutes(schedule(), ny(2026, 3, 6, 16, 30), 60)
    assert due == ny(2026, 3, 9, 9, 30)
    assert business_minutes_between(schedule(), ny(2026, 3, 6, 16, 30), due) == 60


def test_holiday_and_closure_are_skipped() -> None:
    # Thursday 2026-11-26 is Thanksgiving, Friday the 27th a clinic closure.
    closed = {date(2026, 11, 26), date(2026, 11, 27)}
    due = add_business_minutes(schedule(closed), ny(2026, 11, 25, 16, 0), 120)
    assert due == ny(2026, 11, 30, 10, 0)


def test_dst_spring_forward_keeps_local_hours() -> None:
    # US DST starts Sunday 2026-03-08. Friday 16:00 EST + 2h → Monday 10:00 EDT.
    due = add_business_minutes(schedule(), ny(2026, 3, 6, 16, 0), 120)
    assert due == ny(2026, 3, 9, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    start_utc = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert business_minutes_between(schedule(), start_utc, due) == 120


def test_dst_day_is_23_hours_on_an_always_open_calendar() -> None:
    always = Schedule.always_open("America/New_York")
    start = ny(2026, 3, 8, 0, 0)
    end = ny(2026, 3, 9, 0, 0)
    assert business_minutes_between(always, start, end) == 23 * 60
    assert add_business_minutes(always, start, 23 * 60) == end
    # Fall back: 25 hours on 2026-11-01.
    assert business_minutes_between(always, ny(2026, 11, 1), ny(2026, 11, 2)) == 25 * 60


def test_between_is_zero_for_reversed_or_closed_ranges() -> None:
    assert business_minutes_between(schedule(), ny(2026, 3, 3), ny(2026, 3, 2)) == 0
    assert business_minutes_between(schedule(), ny(2026, 3, 7, 9), ny(2026, 3, 8, 17)) == 0


def test_between_counts_several_days() -> None:
    # Monday 09:00 → Wednesday 12:00 = 8 + 8 + 3 hours.
    assert business_minutes_between(schedule(), ny(2026, 3, 2, 9), ny(2026, 3, 4, 12)) == 19 * 60


def test_add_then_between_round_trips() -> None:
    start = ny(2026, 3, 5, 14, 17)
    for minutes in (1, 59, 480, 481, 2000, 10_000):
        due = add_business_minutes(schedule(), start, minutes)
        assert business_minutes_between(schedule(), start, due) == pytest.approx(minutes)


def test_split_shift_and_end_of_day_midnight() -> None:
    split = Schedule(
        ZoneInfo("UTC"),
        {0: ((8 * 60, 12 * 60), interval_for(time(13), time(0)))},
    )
    monday = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert add_business_minutes(split, monday, 120) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert add_business_minutes(split, monday, 60 + 11 * 60) == datetime(
        2026, 3, 3, 0, 0, tzinfo=UTC
    )


def test_is_open_at() -> None:
    assert is_open_at(schedule(), ny(2026, 3, 2, 9, 0))
    assert not is_open_at(schedule(), ny(2026, 3, 2, 17, 0))
    assert not is_open_at(schedule(), ny(2026, 3, 7, 12, 0))


def test_zero_minutes_and_empty_schedule() -> None:
    start = ny(2026, 3, 7, 12)
    assert add_business_minutes(schedule(), start, 0) == start
    with pytest.raises(ValueError, match="no open time"):
        add_business_minutes(Schedule(NY, {}), start, 1)


def test_calendar_schedule_uses_public_holidays(db) -> None:
    from rbac.models import Clinic
    from support.models import BusinessCalendar, BusinessHours, Closure
    from support.schedules import calendar_schedule

    clinic = Clinic.objects.create(name="C", slug="c", timezone="America/New_York")
    cal = BusinessCalendar.objects.create(
        clinic=clinic, name="NY", timezone="America/New_York", holiday_country="US"
    )
    for day in range(5):
        BusinessHours.objects.create(calendar=cal, weekday=day, opens=time(9), closes=time(17))
    Closure.objects.create(calendar=cal, date=date(2026, 11, 27), reason="Staff day")
    sched = calendar_schedule(cal)
    # Wednesday before Thanksgiving 16:00 + 2h → Monday 10:00 (Thu holiday, Fri closure).
    assert add_business_minutes(sched, ny(2026, 11, 25, 16), 120) == ny(2026, 11, 30, 10)
    # 2026-07-03 is the observed Independence Day (Friday).
    assert add_business_minutes(sched, ny(2026, 7, 2, 16), 120) == ny(2026, 7, 6, 10)


def test_is_open_at_on_an_empty_schedule_is_false() -> None:
    assert not is_open_at(Schedule(NY, {}), ny(2026, 3, 2, 10))
