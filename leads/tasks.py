"""Celery tasks of leads: thin wrappers over services; a rerun is harmless."""

from celery import Task, shared_task

from leads.services import welcome


@shared_task(bind=True, max_retries=5, acks_late=True)
def send_lead_welcome(self: Task, *, lead_id: int) -> str:
    try:
        welcome.lead_welcome_send(lead_id=lead_id)
    except Exception as exc:  # database hiccup: retry with backoff
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    return "done"


@shared_task(acks_late=True)
def welcome_sweep() -> int:
    return welcome.leads_welcome_sweep()
