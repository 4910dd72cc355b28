"""The event catalog and the outbox of published platform events (EventService)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from partners.models.partner import Partner


class EventType(TimeStampedModel):
    """A kind of event partners can subscribe to (``lead.created``). Seeded by data migrations.

    Every type is published by some code path (``tests/partners/test_event_catalog.py`` checks
    it), except ``planned`` ones: announced for a feature not built yet, listed in the catalog
    but neither subscribable nor publishable until the migration that ships the feature clears
    the flag."""

    name = models.CharField(max_length=100, unique=True, help_text=_("Dotted name."))
    description = models.CharField(max_length=300, blank=True)
    payload_example = models.JSONField(default=dict, blank=True)
    schema_version = models.PositiveIntegerField(default=1)
    deprecated = models.BooleanField(default=False)
    planned = models.BooleanField(
        default=False,
        help_text=_("For a feature not built yet: listed, but not subscribable or published."),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(planned=True) & Q(deprecated=True)),
                name="partners_eventtype_planned_not_deprecated",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PlatformEvent(models.Model):
    """One published event, written in the publisher's transaction (an outbox row).

    ``fanned_out_at`` stays empty until the event's webhook messages exist; the sweep task
    fans out every event left without it, so a committed event is never lost.
    """

    public_id = PublicIdField(prefix="evt")
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events")
    owner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        help_text=_("The partner whose endpoints receive it; empty for platform-only events."),
    )
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="partners_event_owner_idempotency_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "event_type", "created_at"]),
            models.Index(
                fields=["created_at"],
                condition=Q(fanned_out_at__isnull=True),
                name="partners_event_unfanned_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id
