"""Base model pieces every app may use."""

from typing import Any

from django.db import models
from django.utils import timezone

from careos.fields import EncryptedJSONField
from careos.ids import new_public_id


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PublicIdField(models.CharField):
    """A unique prefixed public id (``usr_…``), generated when the row is instantiated.

    Generated as the field default, so ``bulk_create`` gets ids too.
    """

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_default(self) -> str:
        return new_public_id(self.prefix)

    def has_default(self) -> bool:
        return True

    def deconstruct(self) -> tuple:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        for key, value in (("max_length", 40), ("unique", True), ("editable", False)):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` used by one owner (a partner or a user) on a creating request.

    Inserted (and committed) before the view runs, so a concurrent duplicate finds it; the
    response is filled in by the same transaction as the view's writes. ``response_status`` is
    empty while the first request is still in flight.
    """

    owner_ref = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The replayed body holds whatever the view answered (PHI included): encrypted at rest.
    response_body = EncryptedJSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_ref", "key"], name="idempotency_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner_ref}:{self.key}"
