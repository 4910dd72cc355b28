"""Business calendars (clinic timezone, weekly hours, public holidays, closures) and agents."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(TimeStampedModel):
    """When a clinic's SLA clock runs: weekly hours in ``timezone``, minus holidays and closures."""

    public_id = PublicIdField(prefix="bcal")
    clinic = models.ForeignKey(
        "rbac.Clinic",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="support_calendars",
        help_text=_("Empty: a calendar of the platform's partner-support desk."),
    )
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC")
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text=_("ISO country code for public holidays (e.g. US).")
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text=_("State or province code (e.g. CA), optional.")
    )

    class Meta:
        ordering = ["clinic_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.timezone})"


class BusinessHours(models.Model):
    """One opening interval on a weekday, in the calendar's local time."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = _("business hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        ends_at_midnight = not (self.closes.hour or self.closes.minute)
        if not ends_at_midnight and self.closes <= self.opens:
            raise ValidationError(_("Closing time must be after opening time."))


class Closure(models.Model):
    """A clinic-specific closed day (on top of public holidays)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="closures"
    )
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="closure_unique_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class AgentProfile(TimeStampedModel):
    """A support agent of a clinic (no clinic: of the platform's partner-support desk):
    languages spoken, published hours, supervisor flag."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_profiles"
    )
    clinic = models.ForeignKey(
        "rbac.Clinic",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="support_agents",
        help_text=_("Empty: an agent of the platform's partner-support desk."),
    )
    languages = models.JSONField(default=list, blank=True, help_text=_("Language codes spoken."))
    timezone = models.CharField(max_length=64, default="UTC")
    is_supervisor = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="agent_unique_per_clinic"),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(clinic__isnull=True),
                name="agent_unique_platform",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic_id}"


class AgentWorkingHours(models.Model):
    """An agent's published hours: outside them the agent is not available for assignment."""

    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField(help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        ordering = ["weekday", "starts"]
        verbose_name_plural = _("agent working hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"
