from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class MessageTemplate(TimeStampedModel):
    """Text of one purpose in one language; ``{{ variable }}`` placeholders must be declared."""

    public_id = PublicIdField(prefix="tpl")
    key = models.SlugField(max_length=64, help_text=_("Purpose key, e.g. welcome_from_referral."))
    language = models.CharField(max_length=8, default="en")
    description = models.CharField(max_length=200, blank=True)
    variables = models.JSONField(
        default=list, blank=True, help_text=_("Declared variable names the text may use.")
    )
    subject = models.CharField(max_length=200, blank=True, help_text=_("Email and push title."))
    body = models.TextField(help_text=_("Plain text (SMS, push, email text part)."))
    html_body = models.TextField(blank=True, help_text=_("Optional HTML email body."))
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="template_unique_key_lang")
        ]
        ordering = ["key", "language"]

    def __str__(self) -> str:
        return f"{self.key} [{self.language}]"

    def clean(self) -> None:
        from engagement.services.templates import TemplateError, template_check_text

        if not isinstance(self.variables, list) or not all(
            isinstance(v, str) and v.isidentifier() for v in self.variables
        ):
            raise ValidationError({"variables": _("A list of variable names.")})
        for field in ("subject", "body", "html_body"):
            try:
                template_check_text(text=getattr(self, field), variables=self.variables)
            except TemplateError as exc:
                raise ValidationError({field: exc.detail}) from exc
