import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError


class CareosConfig(AppConfig):
    name = "careos"
    verbose_name = "CareOS kernel"

    def ready(self) -> None:
        local_state_folders_create()
        register(check_public_base_url, deploy=True)
        # Registers the kernel's drf-spectacular extensions before any schema is generated.
        import careos.api.schema  # noqa: F401


def local_state_folders_create() -> None:
    """The folders of ``VAR_DIR`` this process needs, made here rather than when the settings are
    imported: the SQLite file's (SQLite does not create it) and the static root (whitenoise warns
    about a missing one). The filesystem broker makes its own (careos.broker)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"] == "django.db.backends.sqlite3" and name and not _in_memory(name):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def _in_memory(name: str) -> bool:
    return name == ":memory:" or "mode=memory" in name


def check_public_base_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Outside development, ``PUBLIC_BASE_URL`` is an https URL clients can reach: it is in
    every link we send (unsubscribe, surveys, Twilio callbacks, partner setup)."""
    from django.conf import settings

    if settings.DEBUG:
        return []
    url = settings.PUBLIC_BASE_URL
    parts = urlsplit(url)
    host = parts.hostname or ""
    problem = ""
    if parts.scheme != "https" or not host:
        problem = "is not an https URL"
    elif host == "localhost" or host.endswith(".localhost") or _is_loopback(host):
        problem = "names this machine (loopback)"
    if not problem:
        return []
    return [
        CheckError(
            f"PUBLIC_BASE_URL {url!r} {problem}.",
            hint="Set PUBLIC_BASE_URL to the https origin clients reach this instance at "
            "(e.g. https://careos.example.com).",
            id="careos.E001",
        )
    ]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
