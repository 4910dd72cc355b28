"""Usage counters: from the limiter (Redis or in-process) to ``PartnerUsageDaily``."""

import logging
from datetime import date

from django.db import transaction
from django.db.models import F

from partners import ratelimit
from partners.models import Partner, PartnerUsageDaily
from partners.services.credentials import api_key_touch_many

logger = logging.getLogger("partners.usage")


@transaction.atomic
def _write(usage: dict[tuple[str, int, str], dict[str, int]]) -> int:
    known = set(
        Partner.objects.filter(pk__in={key[1] for key in usage}).values_list("pk", flat=True)
    )
    rows = 0
    for (day, partner_pk, endpoint), counts in usage.items():
        if partner_pk not in known:
            continue
        row, _ = PartnerUsageDaily.objects.get_or_create(
            partner_id=partner_pk, day=date.fromisoformat(day), endpoint=endpoint[:255]
        )
        PartnerUsageDaily.objects.filter(pk=row.pk).update(
            calls=F("calls") + counts["calls"],
            errors=F("errors") + counts["errors"],
            rate_limited=F("rate_limited") + counts["rate_limited"],
            total_latency_ms=F("total_latency_ms") + counts["latency_ms"],
        )
        rows += 1
    return rows


def usage_flush() -> int:
    """Move counted usage into the database; returns the number of rows touched.

    Counters are moved aside atomically before they are read, so calls counted meanwhile wait
    for the next flush instead of being lost.
    """
    drained = ratelimit.drain()
    rows = _write(drained.usage)
    if drained.last_used:
        api_key_touch_many(last_used=drained.last_used)
    ratelimit.ack(drained)
    if rows:
        logger.info("partner usage flushed", extra={"rows": rows})
    return rows
