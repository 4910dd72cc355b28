"""Thin Celery tasks: the per-minute SLA sweep and the batched follow-ups it queues."""

from celery import shared_task

from support.services import sweep


@shared_task(name="support.sla_sweep")
def sla_sweep() -> dict[str, int]:
    return sweep.sla_sweep().counts


@shared_task(
    name="support.sla_warnings_notify",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def sla_warnings_notify(*, ticket_ids: list[int], target: str) -> int:
    return sweep.sla_warnings_notify(ticket_ids=ticket_ids, target=target)


@shared_task(
    name="support.sla_breaches_escalate",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def sla_breaches_escalate(*, ticket_ids: list[int], target: str) -> int:
    return sweep.sla_breaches_escalate(ticket_ids=ticket_ids, target=target)
