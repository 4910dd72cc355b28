"""Response phase of partner calls: RateLimit headers, error and latency counting.

The authentication step leaves ``request.partner_call = (hit, decision)``; nothing here talks
to Redis (see ``partners.ratelimit`` for why the deltas ride on the next round trip).
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from partners import ratelimit


class PartnerUsageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        call = getattr(request, "partner_call", None)
        if call is None:
            return response
        hit, decision = call
        if decision is not None:
            for name, value in decision.headers().items():
                response.headers[name] = value
            if not decision.allowed:
                return response  # counted as rate_limited by the limiter itself
        ratelimit.record_response(
            hit,
            error=response.status_code >= 400,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
        return response
