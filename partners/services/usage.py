"""Usage counters: from the limiter (Redis or in-process) to ``PartnerUsageDaily``."""

import logging
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F

from partners import ratelimit
from partners.models import Partner, PartnerUsageDaily
from partners.ratelimit.window import Usage
from partners.services.credentials import api_key_touch_many

logger = logging.getLogger("partners.usage")


@transaction.atomic
def usage_write(usage: Usage) -> int:
    """Add counted usage to ``PartnerUsageDaily`` (the flush, and every call while Redis is
    down); returns the rows touched. Safe against concurrent writers of the same row."""
    known = set(
        Partner.objects.filter(pk__in={key[1] for key in usage}).values_list("pk", flat=True)
    )
    rows = 0
    for (day, partner_pk, endpoint), counts in usage.items():
        if partner_pk not in known:
            continue
        row = PartnerUsageDaily.objects.filter(
            partner_id=partner_pk, day=date.fromisoformat(day), endpoint=endpoint[:255]
        )
        added = {
            "calls": F("calls") + counts["calls"],
            "errors": F("errors") + counts["errors"],
            "rate_limited": F("rate_limited") + counts["rate_limited"],
            "total_latency_ms": F("total_latency_ms") + counts["latency_ms"],
        }
        if not row.update(**added):
            try:
                with transaction.atomic():
                    PartnerUsageDaily.objects.create(
                        partner_id=partner_pk,
                        day=date.fromisoformat(day),
                        endpoint=endpoint[:255],
                        calls=counts["calls"],
                        errors=counts["errors"],
                        rate_limited=counts["rate_limited"],
                        total_latency_ms=counts["latency_ms"],
                    )
            except IntegrityError:  # created meanwhile by another writer
                row.update(**added)
        rows += 1
    return rows


def usage_flush() -> int:
    """Move counted usage into the database; returns the number of rows touched.

    Counters are moved aside atomically before they are read, so calls counted meanwhile wait
    for the next flush instead of being lost.
    """
    drained = ratelimit.drain()
    rows = usage_write(drained.usage)
    if drained.last_used:
        api_key_touch_many(last_used=drained.last_used)
    ratelimit.ack(drained)
    if rows:
        logger.info("partner usage flushed", extra={"rows": rows})
    return rows
