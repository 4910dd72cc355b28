"""The platform-wide daily cap of messages per recipient address, enforced in the database.

One ``RecipientDay`` row per address and UTC day counts the messages accepted for sending
(queued or deferred; not suppressed ones). A sender takes a slot in the same transaction that
records its message: the rows are created if missing (``INSERT … ON CONFLICT DO NOTHING``),
locked in a fixed order (``SELECT … FOR UPDATE``, so concurrent batches cannot deadlock), and
incremented by a conditional ``UPDATE … WHERE count < cap``. A second worker waits for the
first's commit and then sees its count, so two workers can never both take the last slot; on
SQLite the first statement already holds the database's write lock. A message without a slot is
recorded ``suppressed`` with :data:`CAP_REASON` — visible in the admin and the API, never sent,
never silently dropped. Every channel counts: a flood by email is a flood too.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from engagement.models import RecipientDay

CAP_REASON = "daily message cap for this recipient reached"


def cap_reason() -> str:
    return f"{CAP_REASON} ({settings.ENGAGEMENT_RECIPIENT_DAILY_CAP} per day)"


def recipients_reserve(*, indexes: Iterable[str], now: datetime) -> set[str]:
    """Take one of today's slots for each distinct address index; returns the indexes that got
    one (all of them when the cap is off). Call inside the transaction that records the
    messages, so a rollback gives the slots back. Three queries, whatever the number."""
    cap = settings.ENGAGEMENT_RECIPIENT_DAILY_CAP
    wanted = sorted(set(indexes))
    if cap <= 0 or not wanted:
        return set(wanted)
    day = now.astimezone(UTC).date()
    RecipientDay.objects.bulk_create(
        [RecipientDay(recipient_index=index, day=day) for index in wanted],
        ignore_conflicts=True,
    )
    rows = (
        RecipientDay.objects.select_for_update()
        .filter(day=day, recipient_index__in=wanted)
        .order_by("recipient_index")
        .values_list("pk", "recipient_index", "count")
    )
    granted = {pk: index for pk, index, count in rows if count < cap}
    if granted:
        RecipientDay.objects.filter(pk__in=granted, count__lt=cap).update(count=F("count") + 1)
    return set(granted.values())


def recipient_days_prune(*, now: datetime | None = None) -> int:
    """Delete counters of days before yesterday (they decide nothing any more)."""
    now = now or timezone.now()
    before = now.astimezone(UTC).date() - timedelta(days=1)
    deleted, _ = RecipientDay.objects.filter(day__lt=before).delete()
    return deleted
