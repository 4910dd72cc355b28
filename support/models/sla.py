from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from support.models.ticket import Priority


class SlaPolicy(TimeStampedModel):
    """A clinic's SLA targets (no clinic: the platform's, for partners' tickets to CareOS).
    ``partner_tier`` empty: patient/specialist tickets (and partner tickets whose tier has no
    policy of its own)."""

    public_id = PublicIdField(prefix="sla")
    clinic = models.ForeignKey(
        "rbac.Clinic",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        help_text=_("Empty: a policy of the platform's partner-support desk."),
    )
    name = models.CharField(max_length=100)
    partner_tier = models.CharField(
        max_length=16, blank=True, help_text=_("Partner tier (basic, pro, enterprise) or empty.")
    )
    calendar = models.ForeignKey(
        "support.BusinessCalendar", on_delete=models.PROTECT, related_name="policies"
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["clinic", "partner_tier"], name="sla_unique_per_tier"),
            models.UniqueConstraint(
                fields=["partner_tier"],
                condition=models.Q(clinic__isnull=True),
                name="sla_unique_platform_tier",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """Business minutes allowed per priority; 0 means no target."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=8, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(default=0)
    next_response_minutes = models.PositiveIntegerField(default=0)
    resolution_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("SLA target")
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="sla_target_unique")
        ]

    def __str__(self) -> str:
        return (
            f"{self.priority}: {self.first_response_minutes}/"
            f"{self.next_response_minutes}/{self.resolution_minutes}"
        )
