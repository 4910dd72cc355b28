"""Quiet hours: non-urgent messages wait until the window ends in the recipient's timezone."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _window() -> tuple[time, time] | None:
    start = time.fromisoformat(settings.ENGAGEMENT_QUIET_HOURS_START)
    end = time.fromisoformat(settings.ENGAGEMENT_QUIET_HOURS_END)
    return None if start == end else (start, end)


def quiet_hours_release_at(*, timezone_name: str, now: datetime) -> datetime | None:
    """When quiet hours end if ``now`` is inside them for that timezone, else None."""
    window = _window()
    if window is None:
        return None
    start, end = window
    local = now.astimezone(_zone(timezone_name))
    clock = local.time()
    overnight = start > end
    inside = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not inside:
        return None
    release_date = local.date()
    if overnight and clock >= start:
        release_date += timedelta(days=1)
    release = datetime.combine(release_date, end, tzinfo=local.tzinfo)
    return release.astimezone(ZoneInfo("UTC"))
