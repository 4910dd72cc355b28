"""Per-client-IP rate limits for the anonymous payments endpoints (DRF throttles in the default
cache: Redis in production, so every process shares the counts)."""

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from rbac.services import client_ip


class BusinessRegisterThrottle(SimpleRateThrottle):
    """``BUSINESS_REGISTER_RATE_LIMIT`` (e.g. ``"10/hour"``) per client IP. The IP is the one the
    audit log records (``X-Forwarded-For`` only behind ``RBAC_TRUSTED_PROXY_COUNT`` proxies), so
    a client cannot reset its count by forging the header."""

    scope = "business_register"

    def get_rate(self) -> str | None:
        # DRF builds a throttle per request: the setting is read then, not at import.
        return settings.BUSINESS_REGISTER_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        ident = client_ip(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}
