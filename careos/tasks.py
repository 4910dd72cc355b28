from celery import shared_task
from django.db import DatabaseError

from careos.idempotency import idempotency_records_prune


@shared_task
def ping() -> str:
    """A no-op round trip through the broker and a worker (used by tests and diagnostics)."""
    return "pong"


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def prune_idempotency_records() -> int:
    return idempotency_records_prune()
