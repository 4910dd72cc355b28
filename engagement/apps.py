from typing import Any

from django.apps import AppConfig
from django.core.checks import Warning as CheckWarning
from django.core.checks import register


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        register(check_channel_backends)


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
