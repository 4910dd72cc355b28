"""Storage side of ``Idempotency-Key``: claim a key, record the response, release, prune.

The HTTP side (the ``idempotent`` view decorator) is in ``careos.api.idempotency``.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from careos.errors import ConflictError
from careos.models import IdempotencyRecord


def _is_expired(record: IdempotencyRecord, *, now: datetime) -> bool:
    # A claim still in flight after the in-progress timeout belongs to a request that died: its
    # writes were rolled back with it (they share one transaction), so the key may be reused.
    seconds = (
        settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS
        if record.response_status is None
        else settings.IDEMPOTENCY_KEY_TTL_SECONDS
    )
    return record.created_at < now - timedelta(seconds=seconds)


def idempotency_claim(
    *, owner_ref: str, key: str, method: str, path: str, request_hash: str
) -> tuple[IdempotencyRecord, bool]:
    """Insert the claim for (owner_ref, key) in its own transaction.

    Returns ``(record, True)`` when this caller now owns the key, or ``(existing, False)`` when
    the key is already in use (in flight or completed, and not expired).
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner_ref=owner_ref,
                    key=key,
                    method=method,
                    path=path[:512],
                    request_hash=request_hash,
                )
            return record, True
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(owner_ref=owner_ref, key=key).first()
            if existing is None:
                continue  # deleted between our insert and this read: try again
            if not _is_expired(existing, now=timezone.now()):
                return existing, False
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at
            ).delete()
    raise ConflictError(
        "Another request with this Idempotency-Key is being processed.",
        code="idempotency_in_progress",
    )


def idempotency_complete(
    *, record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str]
) -> None:
    record.response_status = status
    record.response_body = body
    record.response_headers = headers
    record.completed_at = timezone.now()
    record.save(
        update_fields=["response_status", "response_body", "response_headers", "completed_at"]
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Give the key back (the request failed and created nothing), so a retry runs again."""
    IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()


def idempotency_records_prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete records older than ``IDEMPOTENCY_KEY_TTL_SECONDS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted = 0
    while True:
        pks = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not pks:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=pks).delete()[0]
