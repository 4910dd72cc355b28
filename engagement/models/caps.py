from django.db import models


class RecipientDay(models.Model):
    """Messages accepted for one address (blind index, any channel) on one UTC day: the
    counter behind ``ENGAGEMENT_RECIPIENT_DAILY_CAP`` (``engagement.services.caps``)."""

    recipient_index = models.CharField(max_length=64)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_index", "day"], name="recipient_day_unique_index_day"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.recipient_index[:8]}… {self.count}"
