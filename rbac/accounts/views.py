"""The second sign-in step (verify a code), first-time enrolment, and new recovery codes.

Thin: each view checks the form and calls ``rbac.accounts.mfa``. Pages use the admin's look
(its stylesheet and header) since staff reach them from the admin sign-in.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from rbac.accounts.mfa import (
    recovery_codes_regenerate,
    second_factor_verify,
    totp_device_confirmed,
    totp_enrolment_confirm,
    totp_enrolment_start,
    user_requires_mfa,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    if request.user.is_staff:
        return reverse("admin:index")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, request: HttpRequest) -> HttpResponseRedirect:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return HttpResponseRedirect(reverse(url_name) + query)


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return render(
        request,
        template,
        {
            "title": title,
            "site_header": admin.site.site_header,
            "site_title": admin.site.site_title,
            "has_permission": False,
            "is_nav_sidebar_enabled": False,
            "next": _next_url(request),
            **context,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user_requires_mfa(user) or user.is_verified():  # type: ignore[union-attr]
        return redirect(_next_url(request))
    if totp_device_confirmed(user) is None:  # type: ignore[arg-type]
        return _with_next("mfa-setup", request)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if second_factor_verify(request=request, user=user, token=form.cleaned_data["code"]):  # type: ignore[arg-type]
            request.session.cycle_key()
            return redirect(_next_url(request))
        form.add_error("code", _("That code is not valid, or it was used already."))
    return _page(request, "accounts/mfa_verify.html", _("Second sign-in step"), form=form)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user_requires_mfa(user) or user.is_verified():  # type: ignore[union-attr]
        return redirect(_next_url(request))
    if totp_device_confirmed(user) is not None:  # type: ignore[arg-type]
        return _with_next("mfa-verify", request)
    enrolment = totp_enrolment_start(user=user)  # type: ignore[arg-type]
    form = CodeForm(request.POST or None)
    if form.is_valid():
        codes = totp_enrolment_confirm(
            request=request,
            user=user,  # type: ignore[arg-type]
            device=enrolment.device,
            token=form.cleaned_data["code"],
            actor=user,  # type: ignore[arg-type]
        )
        if codes is not None:
            request.session.cycle_key()
            return _page(
                request, "accounts/recovery_codes.html", _("Your recovery codes"), codes=codes
            )
        form.add_error("code", _("That code is not valid. Check the app's clock and try again."))
    return _page(
        request,
        "accounts/mfa_setup.html",
        _("Set up your authenticator app"),
        form=form,
        qr_svg=enrolment.qr_svg(),
        secret=enrolment.secret,
    )


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working); only in a verified session."""
    user = request.user
    if not user_requires_mfa(user):
        return redirect(_next_url(request))
    if request.method == "POST":
        codes = recovery_codes_regenerate(request=request, user=user, actor=user)  # type: ignore[arg-type]
        return _page(request, "accounts/recovery_codes.html", _("Your recovery codes"), codes=codes)
    return _page(request, "accounts/recovery_codes_new.html", _("New recovery codes"))
