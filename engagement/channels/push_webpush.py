"""Web Push (RFC 8030 + VAPID) through ``pywebpush``."""

import json

from django.conf import settings
from pywebpush import WebPushException, webpush
from requests.exceptions import RequestException

from engagement.channels.base import (
    Outbound,
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
    Transport,
)


class WebPushTransport(Transport):
    """``outbound.to`` is the subscription JSON (``endpoint`` + ``keys``)."""

    provider = "webpush"

    @classmethod
    def missing_settings(cls) -> list[str]:
        return [n for n in ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT") if not getattr(settings, n)]

    def send(self, outbound: Outbound) -> ProviderResult:
        payload = json.dumps(
            {"title": outbound.subject, "body": outbound.body, "messageId": outbound.message_ref}
        )
        try:
            response = webpush(
                subscription_info=json.loads(outbound.to),
                data=payload,
                vapid_private_key=settings.VAPID_PRIVATE_KEY,
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=settings.PUSH_TTL_SECONDS,
                timeout=settings.OUTBOUND_HTTP_TIMEOUT_SECONDS,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            reason = f"push service {status or 'error'}"
            if status in (404, 410):
                raise PermanentProviderError(reason, code=str(status), undeliverable=True) from exc
            if status == 0 or status >= 500 or status == 429:
                raise TransientProviderError(reason, code=str(status)) from exc
            raise PermanentProviderError(reason, code=str(status)) from exc
        except RequestException as exc:
            raise TransientProviderError(f"push service unreachable: {type(exc).__name__}") from exc
        location = response.headers.get("Location", "") if response is not None else ""
        return ProviderResult(provider=self.provider, provider_message_id=location[-128:])
