"""One transport interface per channel; providers are modules selected by settings.

A transport turns an ``Outbound`` into a ``ProviderResult`` or raises ``TransientProviderError``
(worth retrying: network trouble, 5xx, rate limits) or ``PermanentProviderError`` (never retry:
invalid number, unsubscribed, gone subscription).
"""

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


class ProviderError(Exception):
    def __init__(self, reason: str, *, code: str = "") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


class TransientProviderError(ProviderError):
    """Worth retrying later."""


class PermanentProviderError(ProviderError):
    """Retrying cannot help; ``undeliverable`` marks an address that can never receive."""

    def __init__(self, reason: str, *, code: str = "", undeliverable: bool = False) -> None:
        super().__init__(reason, code=code)
        self.undeliverable = undeliverable


@dataclass(frozen=True)
class Outbound:
    message_ref: str  # msg_… public id, for provider metadata and logs (never PHI)
    to: str  # phone, email, or a push subscription as JSON
    body: str
    subject: str = ""
    html_body: str = ""
    status_callback: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderResult:
    provider: str
    provider_message_id: str = ""
    status: str = "sent"


class Transport:
    provider: str = "base"

    @classmethod
    def missing_settings(cls) -> list[str]:
        """Settings this provider needs that are unset (the deploy check reports them too)."""
        return []

    @classmethod
    def invalid_settings(cls) -> list[str]:
        """Problems with settings that are set but unusable (``engagement.E003``), each naming
        the setting, never its value. Called only when nothing is missing."""
        return []

    def __init__(self) -> None:
        if missing := self.missing_settings():
            raise ImproperlyConfigured(f"{', '.join(missing)} must be set")

    def send(self, outbound: Outbound) -> ProviderResult:
        raise NotImplementedError


class RecordingTransport(Transport):
    """Development backend: keeps what would have been sent (bounded) instead of sending."""

    provider = "console"
    outbox: deque[Outbound]

    def send(self, outbound: Outbound) -> ProviderResult:
        type(self).outbox.append(outbound)
        return ProviderResult(provider=self.provider, provider_message_id=outbound.message_ref)


_BACKEND_SETTINGS = {"sms": "SMS_BACKEND", "push": "PUSH_BACKEND", "email": "EMAIL_TRANSPORT"}
_instances: dict[tuple[str, str], Transport] = {}


def get_transport(channel: str) -> Transport:
    """The transport configured for ``channel`` (one instance per process and setting).

    A missing setting or an unimportable backend raises ``PermanentProviderError``: retrying
    cannot fix configuration, and the caller must record the message as failed with the reason
    rather than crash and leave it claimed in ``sending``. ``check --deploy`` reports the same
    problem before it reaches a worker (``engagement.E001`` to ``engagement.E003``).
    """
    path = getattr(settings, _BACKEND_SETTINGS[channel])
    key = (channel, path)
    if key not in _instances:
        try:
            cls: Any = import_string(path)
            _instances[key] = cls()
        except (ImproperlyConfigured, ImportError) as exc:
            raise PermanentProviderError(
                f"{channel} provider misconfigured: {exc}", code="provider_misconfigured"
            ) from exc
    return _instances[key]


@receiver(setting_changed)
def _forget_transports(**kwargs: Any) -> None:
    # Transports read credentials when built; a settings change (tests) builds them again.
    _instances.clear()
