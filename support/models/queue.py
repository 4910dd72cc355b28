from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class Queue(TimeStampedModel):
    """A clinic's work queue (no clinic: the platform's, for partners' tickets). Routing prefers
    the queue matching both language and region."""

    public_id = PublicIdField(prefix="tq")
    clinic = models.ForeignKey(
        "rbac.Clinic",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="queues",
        help_text=_("Empty: a queue of the platform's partner-support desk."),
    )
    name = models.CharField(max_length=100)
    language = models.CharField(
        max_length=8, blank=True, choices=settings.LANGUAGES, help_text=_("Empty: any language.")
    )
    region = models.CharField(max_length=32, blank=True, help_text=_("Empty: any region."))
    is_escalation = models.BooleanField(
        default=False, help_text=_("The clinic's default escalation queue.")
    )
    escalation_queue = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where this queue's escalated tickets go (else the clinic's default)."),
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_queues",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="queue_unique_name"),
            models.UniqueConstraint(
                fields=["clinic"],
                condition=models.Q(is_escalation=True),
                name="queue_one_escalation_per_clinic",
            ),
            # NULLs are distinct in the two above: the platform's desk gets its own.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(clinic__isnull=True),
                name="queue_unique_platform_name",
            ),
            models.UniqueConstraint(
                fields=["is_escalation"],
                condition=models.Q(clinic__isnull=True, is_escalation=True),
                name="queue_one_platform_escalation",
            ),
        ]

    def __str__(self) -> str:
        return self.name
