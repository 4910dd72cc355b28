from django.db import models

from partners.models.partner import Partner


class PartnerUsageDaily(models.Model):
    """API usage per partner, per UTC day, per endpoint; written by the usage flush task."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    endpoint = models.CharField(max_length=255)  # "GET api/v1/partners/me"
    calls = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    rate_limited = models.PositiveBigIntegerField(default=0)
    total_latency_ms = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "day", "endpoint"], name="partner_usage_daily_unique"
            )
        ]
        indexes = [models.Index(fields=["partner", "-day"])]
        verbose_name_plural = "partner usage (daily)"

    def __str__(self) -> str:
        return f"{self.day} {self.endpoint}"

    @property
    def average_latency_ms(self) -> int:
        return self.total_latency_ms // self.calls if self.calls else 0
