"""Translation of replies across languages: a settings-selected backend.

``none`` (default) translates nothing; ``libretranslate`` calls a self-hostable LibreTranslate
server (``SUPPORT_TRANSLATION_URL``) through the kernel's guarded HTTP client.
"""

import logging
from typing import Protocol

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Translator(Protocol):
    def translate(self, *, text: str, source: str, target: str) -> str | None: ...


class NoTranslation:
    def translate(self, *, text: str, source: str, target: str) -> str | None:
        return None


class LibreTranslate:
    """``POST {url}/translate`` with ``q``, ``source``, ``target`` (LibreTranslate's API)."""

    def __init__(self, *, url: str, api_key: str = "") -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key

    def translate(self, *, text: str, source: str, target: str) -> str | None:
        from careos.http import safe_client

        body = {"q": text, "source": source, "target": target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            with safe_client() as client:
                response = client.post(f"{self.url}/translate", json=body)
                response.raise_for_status()
                translated = response.json().get("translatedText")
        except (httpx.HTTPError, ValueError) as exc:
            # A translation outage must not block a reply; the original is always kept.
            logger.warning("translation failed: %s", type(exc).__name__)
            return None
        return translated if isinstance(translated, str) else None


BACKENDS = {
    "none": "support.translation.NoTranslation",
    "libretranslate": "support.translation.LibreTranslate",
}


def get_translator() -> Translator:
    backend = settings.SUPPORT_TRANSLATION_BACKEND
    cls = import_string(BACKENDS.get(backend, backend))
    if cls is LibreTranslate:
        return LibreTranslate(
            url=settings.SUPPORT_TRANSLATION_URL, api_key=settings.SUPPORT_TRANSLATION_API_KEY
        )
    return cls()


def translate_for(*, text: str, source: str, target: str) -> str | None:
    return get_translator().translate(text=text, source=source, target=target)
