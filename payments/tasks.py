"""Celery tasks: thin wrappers over services; each claims its work so a rerun is harmless."""

from dataclasses import asdict

from celery import Task, shared_task

from payments.services import (
    partner_billing,
    partner_payments,
    payouts,
    refunds,
    stripe_webhooks,
    subscriptions,
)


@shared_task(bind=True, max_retries=8, acks_late=True)
def process_stripe_event(self: Task, *, event_pk: int) -> str:
    try:
        return stripe_webhooks.stripe_event_process(event_pk=event_pk)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def requeue_stale_stripe_events() -> int:
    return stripe_webhooks.stripe_events_requeue_stale()


@shared_task(acks_late=True)
def retry_pending_refunds() -> int:
    return refunds.refunds_retry_pending()


@shared_task(acks_late=True)
def run_specialist_payouts() -> dict:
    return asdict(payouts.specialist_payouts_run())


@shared_task(acks_late=True)
def process_partner_payments() -> dict:
    return asdict(partner_payments.process_partner_payments())


@shared_task(acks_late=True)
def run_partner_billing() -> list[int]:
    return list(partner_billing.partner_billing_run())


@shared_task(acks_late=True)
def run_subscription_billing() -> dict:
    return asdict(subscriptions.subscription_billing_run())


@shared_task(acks_late=True)
def sync_stripe_catalogue() -> int:
    from payments.services.stripe_catalogue import stripe_catalogue_sync

    return stripe_catalogue_sync()
