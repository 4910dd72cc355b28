"""SMS through Twilio's SDK (the real HTTP API; tests fake it at the HTTP boundary)."""

from django.conf import settings
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from engagement.channels.base import (
    Outbound,
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
    Transport,
)

# Twilio error codes meaning the number can never receive from us.
_UNDELIVERABLE_CODES = {21211, 21214, 21408, 21610, 21612, 21614}


class TwilioSMSTransport(Transport):
    provider = "twilio"

    @classmethod
    def missing_settings(cls) -> list[str]:
        missing = [
            n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, n)
        ]
        if not settings.TWILIO_PHONE_NUMBER and not settings.TWILIO_MESSAGING_SERVICE_SID:
            missing.append("TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        return missing

    def __init__(self) -> None:
        super().__init__()
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)

    def send(self, outbound: Outbound) -> ProviderResult:
        kwargs: dict[str, str] = {"to": outbound.to, "body": outbound.body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_PHONE_NUMBER
        if outbound.status_callback:
            kwargs["status_callback"] = outbound.status_callback
        try:
            created = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            reason = f"twilio {exc.status} {exc.code or ''}: {exc.msg}".strip()
            if exc.status >= 500 or exc.status == 429:
                raise TransientProviderError(reason, code=str(exc.code or exc.status)) from exc
            raise PermanentProviderError(
                reason,
                code=str(exc.code or exc.status),
                undeliverable=exc.code in _UNDELIVERABLE_CODES,
            ) from exc
        except RequestException as exc:
            raise TransientProviderError(f"twilio unreachable: {type(exc).__name__}") from exc
        return ProviderResult(
            provider=self.provider, provider_message_id=created.sid or "", status="sent"
        )
