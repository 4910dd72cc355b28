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


def check_provider_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The selected SMS/push provider has usable settings (else a worker fails every send)."""
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
