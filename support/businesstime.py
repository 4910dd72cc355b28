"""Business-time arithmetic: pure functions over a ``Schedule`` (no database, no clock).

A schedule is weekly opening intervals in a local timezone minus closed days. Each local day's
intervals are turned into UTC instants through the timezone, so DST changes, nights, weekends,
holidays and closures are all handled by the same walk over days.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Minutes from local midnight: (start, end) with end up to 1440 (midnight at the day's end).
Interval = tuple[int, int]

MAX_DAYS = 3 * 366  # a schedule with no open time would otherwise loop forever


def _never_closed(day: date) -> bool:
    return False


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    # weekday (Monday=0) -> sorted, non-overlapping intervals
    weekly: dict[int, tuple[Interval, ...]]
    is_closed: Callable[[date], bool] = field(default=_never_closed)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> "Schedule":
        return cls(ZoneInfo(timezone), {day: ((0, 1440),) for day in range(7)})


def minutes_of(value: time) -> int:
    return value.hour * 60 + value.minute


def interval_for(opens: time, closes: time) -> Interval:
    """``closes`` of 00:00 means the end of the day."""
    end = minutes_of(closes) or 1440
    return (minutes_of(opens), end)


def _local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    # Wall-clock arithmetic on purpose: minute 540 is 09:00 local whatever the UTC offset.
    wall = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minute)
    return wall.astimezone(UTC)


def open_intervals(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals in UTC, in order, from the local day containing ``start`` onwards."""
    day = start.astimezone(schedule.timezone).date() - timedelta(days=1)
    for _ in range(MAX_DAYS):
        if not schedule.is_closed(day):
            for begin, end in schedule.weekly.get(day.weekday(), ()):
                a = _local_instant(day, begin, schedule.timezone)
                b = _local_instant(day, end, schedule.timezone)
                if b > a:
                    yield a, b
        day += timedelta(days=1)
    raise ValueError("the schedule has no open time within three years")


def add_business_time(schedule: Schedule, start: datetime, duration: timedelta) -> datetime:
    """The instant when ``duration`` of open time has elapsed after ``start``."""
    if duration <= timedelta(0):
        return start
    remaining = duration
    for a, b in open_intervals(schedule, start):
        if b <= start:
            continue
        a = max(a, start)
        if a + remaining <= b:
            return a + remaining
        remaining -= b - a
    raise AssertionError("unreachable: open_intervals raises first")  # pragma: no cover


def business_time_between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """Open time in [start, end); zero when end <= start."""
    total = timedelta(0)
    if end <= start:
        return total
    for a, b in open_intervals(schedule, start):
        if a >= end:
            break
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


def add_business_minutes(schedule: Schedule, start: datetime, minutes: float) -> datetime:
    return add_business_time(schedule, start, timedelta(minutes=minutes))


def business_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    return business_time_between(schedule, start, end).total_seconds() / 60


def is_open_at(schedule: Schedule, instant: datetime) -> bool:
    day = instant.astimezone(schedule.timezone).date()
    for candidate in (day - timedelta(days=1), day):
        if schedule.is_closed(candidate):
            continue
        for begin, end in schedule.weekly.get(candidate.weekday(), ()):
            a = _local_instant(candidate, begin, schedule.timezone)
            b = _local_instant(candidate, end, schedule.timezone)
            if a <= instant < b:
                return True
    return False
