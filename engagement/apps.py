from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError
from django.core.checks import Warning as CheckWarning


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        register(check_channel_backends)
        # Deploy-only: development and CI run with console backends and no credentials.
        register(check_provider_settings, deploy=True)


def check_channel_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    from django.conf import settings

    if settings.DEBUG:
        return []
    warnings = []
    for name in ("SMS_BACKEND", "PUSH_BACKEND", "EMAIL_BACKEND"):
        if "console" in getattr(settings, name).lower():
            warnings.append(
                CheckWarning(
                    f"{name} is a console backend: messages are recorded, never sent.",
                    hint=f"Set {name} to a real provider in production.",
                    id="engagement.W001",
                )
            )
    return warnings


_TWILIO_BACKEND = "engagement.channels.sms_twilio.TwilioSMSTransport"
_WEBPUSH_BACKEND = "engagement.channels.push_webpush.WebPushTransport"


def check_provider_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The selected SMS/push provider has its credentials (a worker would fail every send)."""
    from django.conf import settings

    errors: list[CheckMessage] = []
    if settings.SMS_BACKEND == _TWILIO_BACKEND:
        missing = [
            n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, n)
        ]
        if not settings.TWILIO_PHONE_NUMBER and not settings.TWILIO_MESSAGING_SERVICE_SID:
            missing.append("TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            errors.append(
                CheckError(
                    f"SMS_BACKEND is Twilio but {', '.join(missing)} is not set.",
                    hint="Set the Twilio credentials, or choose another SMS_BACKEND.",
                    id="engagement.E001",
                )
            )
    if settings.PUSH_BACKEND == _WEBPUSH_BACKEND:
        missing = [n for n in ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT") if not getattr(settings, n)]
        if missing:
            errors.append(
                CheckError(
                    f"PUSH_BACKEND is web push but {', '.join(missing)} is not set.",
                    hint="Generate a VAPID key pair (vapid --gen) and set it with a contact "
                    "VAPID_SUBJECT (mailto: or https:).",
                    id="engagement.E002",
                )
            )
    return errors
