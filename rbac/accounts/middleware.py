"""The second-factor gate and the idle limit for accounts that can see PHI.

Installed right after django-otp's ``OTPMiddleware`` (which tells whether the session was
verified with a device). For a signed-in user who can see PHI:

* the session ends after ``ACCOUNTS_PHI_SESSION_IDLE_SECONDS`` without a request (Django's own
  session expiry, refreshed every ``ACCOUNTS_SESSION_ACTIVITY_STEP_SECONDS`` of activity);
* until the session is verified, every page but the sign-in steps sends them to the second
  factor (enrolment first when they have no device yet), and the API answers
  ``403 mfa_required`` as problem+json.

Requests authenticated otherwise (API keys, OAuth tokens) carry no session user: untouched.
"""

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from careos.api.exceptions import is_api_path, problem_json_response
from rbac.accounts.mfa import user_requires_mfa

_ACTIVITY_KEY = "_careos_activity_at"
# Reachable before the second step: signing in and out, the steps themselves, static files.
_OPEN_URL_NAMES = ("login", "logout", "admin:login", "admin:logout", "mfa-verify", "mfa-setup")


def _is_open(path: str) -> bool:
    if path in ("/healthz", "/readyz") or path.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
        return True
    return path in {reverse(name) for name in _OPEN_URL_NAMES}


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user_requires_mfa(user):
            _keep_idle_limit(request)
            if not user.is_verified() and not _is_open(request.path):
                return _second_factor_needed(request)
        return self.get_response(request)


def start_idle_clock(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: the idle limit applies from the sign-in on."""
    if request is not None and hasattr(request, "session") and user_requires_mfa(user):
        _keep_idle_limit(request)


def _keep_idle_limit(request: HttpRequest) -> None:
    """The session expires ``ACCOUNTS_PHI_SESSION_IDLE_SECONDS`` after its last save; saving it
    at most once per activity step keeps a busy session alive without a write per request."""
    session = request.session
    idle = settings.ACCOUNTS_PHI_SESSION_IDLE_SECONDS
    if session.get("_session_expiry") != idle:
        session.set_expiry(idle)
    now = int(time.time())
    last = session.get(_ACTIVITY_KEY)
    if not isinstance(last, int) or now - last >= settings.ACCOUNTS_SESSION_ACTIVITY_STEP_SECONDS:
        session[_ACTIVITY_KEY] = now


def _second_factor_needed(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        return problem_json_response(
            request,
            status_code=403,
            code="mfa_required",
            detail=(
                "This account can see patient data: complete the second sign-in step "
                f"at {reverse('mfa-verify')} before using the API with this session."
            ),
        )
    query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
    return HttpResponseRedirect(f"{reverse('mfa-verify')}{'?' + query if query else ''}")
