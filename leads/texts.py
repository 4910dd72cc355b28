"""Text people read, through Django i18n (en, es, fr; anything else falls back to English).

``getReferralConsentLanguage`` of the seed is :func:`referral_consent_language`. The welcome SMS
(``getWelcomeFromReferral``) is engagement's ``welcome_from_referral`` template, rendered in
:func:`supported_language` of the lead.

Translations live in ``leads/locale/<lang>/LC_MESSAGES/django.po``; the compiled ``.mo`` files
are committed (no gettext needed to run). After editing a ``.po``:
``cd leads && ../manage.py makemessages -l es -l fr && ../manage.py compilemessages`` (needs
gettext) and commit both files.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

FALLBACK_LANGUAGE = "en"
WELCOME_TEMPLATE_KEY = "welcome_from_referral"


def supported_language(code: str | None) -> str:
    """``es-MX`` → ``es``; an unsupported or empty code → ``en``."""
    if not code:
        return FALLBACK_LANGUAGE
    try:
        return translation.get_supported_language_variant(code.strip().replace("_", "-").lower())
    except LookupError:
        return FALLBACK_LANGUAGE


def referral_consent_language(*, language: str, partner_name: str) -> str:
    """What a person agrees to when a partner refers them to CareOS, in ``language``."""
    with translation.override(supported_language(language)):
        return gettext(
            "I agree that %(partner)s may share my name, phone number and care need with "
            "CareOS, and that CareOS may contact me by text message about care options. "
            "Message and data rates may apply. I can reply STOP at any time to opt out."
        ) % {"partner": partner_name}


def language_choices() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]
