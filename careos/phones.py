"""Phone numbers: parsed and validated with ``phonenumbers`` (Google's libphonenumber rules),
kept in E.164 (``+14155550122``)."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def phone_e164(raw: str, *, region: str = "") -> str | None:
    """The E.164 form of ``raw``, or ``None`` when it is not a valid phone number. Without a
    ``region`` the number must carry its country code (``+…``)."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone_e164(value: str) -> None:
    """A model/form validator: a valid international number (``+`` and the country code)."""
    if value and phone_e164(value) is None:
        raise ValidationError(
            _("Enter a valid phone number with its country code, e.g. +14155550122."),
            code="invalid_phone",
        )
