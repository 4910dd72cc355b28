"""Celery tasks of partners: thin wrappers over the services; idempotent and safe to repeat."""

from celery import shared_task

from partners.services.events import events_fan_out_pending, events_prune
from partners.services.oauth_codes import authorization_codes_prune
from partners.services.usage import usage_flush
from partners.services.webhook_delivery import webhooks_deliver_endpoint, webhooks_sweep


@shared_task(bind=True, max_retries=3, default_retry_delay=30, acks_late=True)
def flush_partner_usage(self) -> int:
    """Beat task (every minute, seeded by a data migration): usage counters → database."""
    try:
        return usage_flush()
    except Exception as exc:  # retried with backoff; nothing is lost while Redis holds it
        raise self.retry(exc=exc) from exc


@shared_task(name="partners.events_fan_out", acks_late=True, reject_on_worker_lost=True)
def events_fan_out() -> int:
    return events_fan_out_pending()


@shared_task(name="partners.webhooks_deliver", acks_late=True, reject_on_worker_lost=True)
def webhooks_deliver(*, endpoint_id: int) -> int:
    return webhooks_deliver_endpoint(endpoint_id=endpoint_id).sent


@shared_task(name="partners.webhooks_sweep", acks_late=True)
def webhooks_sweep_task() -> dict[str, int]:
    report = webhooks_sweep()
    return {
        "leasesExpired": report.leases_expired,
        "unfannedEvents": report.unfanned_events,
        "endpointsKicked": report.endpoints_kicked,
    }


@shared_task(name="partners.events_prune", acks_late=True)
def events_prune_task() -> int:
    return events_prune()


@shared_task(name="partners.oauth_codes_prune", acks_late=True)
def oauth_codes_prune_task() -> int:
    return authorization_codes_prune()


@shared_task(name="partners.marketplace_trending", acks_late=True)
def marketplace_trending_task() -> int:
    """Beat task (every 15 minutes, seeded by a data migration): trending scores."""
    from partners.services.marketplace.stats import trending_compute

    return trending_compute()
