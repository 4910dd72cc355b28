"""What a locked-out sign-in answers (django-axes' ``AXES_LOCKOUT_CALLABLE``).

A person at a sign-in form gets a page saying they are locked out and for how long; a client
asking for JSON (or any API path) gets ``429 login_locked`` as problem+json. Both carry
``Retry-After``.
"""

from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from careos.api.exceptions import is_api_path, problem_json_response

STATUS = 429


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return is_api_path(request) or ("json" in accept and "html" not in accept)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, -(-seconds // 60)) if seconds else 0
    if _wants_json(request):
        response: HttpResponse = problem_json_response(
            request,
            status_code=STATUS,
            code="login_locked",
            detail=_(
                "Too many failed sign-ins for this account from this address. "
                "Try again in %(minutes)d minutes, or ask an administrator to unlock it."
            )
            % {"minutes": minutes},
        )
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"minutes": minutes, "title": _("Sign-in locked")},
            status=STATUS,
        )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
