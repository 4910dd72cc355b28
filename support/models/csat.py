from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import TimeStampedModel


class CsatResponse(TimeStampedModel):
    """One satisfaction rating per ticket; agent, queue and clinic copied for the averages."""

    ticket = models.OneToOneField("support.Ticket", on_delete=models.CASCADE, related_name="csat")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = EncryptedTextField(blank=True)
    clinic = models.ForeignKey(
        "rbac.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    queue = models.ForeignKey(
        "support.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("CSAT response")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="csat_rating_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.rating}"
