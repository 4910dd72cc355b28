from email.utils import parseaddr
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
        register(check_email_settings, deploy=True)


# Django's email backends that never deliver: development and tests only.
_DEVELOPMENT_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


def check_channel_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    from django.conf import settings

    if settings.DEBUG:
        return []
    warnings = []
    for name in ("SMS_BACKEND", "PUSH_BACKEND"):
        if "console" in getattr(settings, name).lower():
            warnings.append(
                CheckWarning(
                    f"{name} is a console backend: messages are recorded, never sent.",
                    hint=f"Set {name} to a real provider in production.",
                    id="engagement.W001",
                )
            )
    if settings.EMAIL_BACKEND in _DEVELOPMENT_EMAIL_BACKENDS:
        warnings.append(
            CheckWarning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: emails are never delivered.",
                hint="Set EMAIL_BACKEND to the SMTP backend (or a provider's) in production.",
                id="engagement.W002",
            )
        )
    return warnings


def check_provider_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The selected SMS/push provider has its settings (else a worker fails every send)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    errors: list[CheckMessage] = []
    for check_id, name in (("engagement.E001", "SMS_BACKEND"), ("engagement.E002", "PUSH_BACKEND")):
        path = getattr(settings, name)
        try:
            backend = import_string(path)
        except ImportError:
            errors.append(CheckError(f"{name} {path!r} cannot be imported.", id=check_id, obj=name))
            continue
        if missing := backend.missing_settings():
            errors.append(
                CheckError(
                    f"{name} is {backend.provider} but {', '.join(missing)} is not set.",
                    hint=f"Set them, or choose another {name}.",
                    id=check_id,
                )
            )
            continue
        # Set but unusable (a VAPID key that does not parse): fail the deploy, not the first send.
        errors.extend(
            CheckError(
                f"{name} is {backend.provider} but {problem}.",
                hint="Fix the setting (README.md, Production), or choose another backend.",
                id="engagement.E003",
            )
            for problem in backend.invalid_settings()
        )
    return errors


def check_email_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The SMTP backend has a server and a real sender (else every email fails or bounces)."""
    from django.conf import global_settings, settings
    from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
    from django.utils.module_loading import import_string

    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return [
            CheckError(
                f"EMAIL_BACKEND {settings.EMAIL_BACKEND!r} cannot be imported.",
                id="engagement.E004",
            )
        ]
    if not (isinstance(backend, type) and issubclass(backend, SMTPBackend)):
        return []
    errors: list[CheckMessage] = []
    if not settings.EMAIL_HOST:
        errors.append(
            CheckError(
                "EMAIL_BACKEND is SMTP but EMAIL_HOST is not set.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_USE_TLS, credentials) to your relay.",
                id="engagement.E004",
            )
        )
    _, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = sender.rpartition("@")[2].lower()
    if (
        not sender
        or sender == global_settings.DEFAULT_FROM_EMAIL
        or domain == "localhost"
        or domain.endswith((".local", ".localhost"))
    ):
        errors.append(
            CheckError(
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}, not a sender address "
                "receiving servers accept.",
                hint="Set DEFAULT_FROM_EMAIL to an address of a domain you send from "
                "(e.g. CareOS <no-reply@clinic.example>).",
                id="engagement.E004",
            )
        )
    return errors
