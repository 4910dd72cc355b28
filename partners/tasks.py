from celery import shared_task

from partners.services.usage import usage_flush


@shared_task(bind=True, max_retries=3, default_retry_delay=30, acks_late=True)
def flush_partner_usage(self) -> int:  # type: ignore[no-untyped-def]
    """Beat task (every minute, seeded by a data migration): usage counters → database."""
    try:
        return usage_flush()
    except Exception as exc:  # retried with backoff; nothing is lost while Redis holds it
        raise self.retry(exc=exc) from exc
