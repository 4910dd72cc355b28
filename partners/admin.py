"""Partner console: partners with contacts, agreements, keys and recent usage inline; actions
call services. A new key's or client's secret is shown once, in the message after the action."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from careos.errors import DomainError

# The marketplace console lives with the marketplace code; importing it registers it.
from partners import marketplace_admin  # noqa: F401
from partners.models import (
    ApiKey,
    Partner,
    PartnerAgreement,
    PartnerApplication,
    PartnerContact,
    PartnerOAuthClient,
    PartnerUsageDaily,
)
from partners.services import applications as app_services
from partners.services import credentials, lifecycle

# The webhooks console lives with the webhooks code; importing it registers it.
from partners.webhooks import admin as webhooks_admin  # noqa: F401


def _each(
    request: HttpRequest, queryset: QuerySet, action: Callable[[Any], str | None], done: str
) -> None:
    """Run ``action`` per object; report successes (and any one-time secret) and refusals."""
    count = 0
    for obj in queryset:
        try:
            note = action(obj)
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
            continue
        count += 1
        if note:
            messages.warning(request, note)
    if count:
        messages.success(request, f"{done}: {count}.")


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, label="Reason", help_text="Required to suspend or reject."
    )


def _reason(request: HttpRequest, verb: str) -> str | None:
    """The reason typed next to the action; ``None`` (and an error message) when missing."""
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, f"Type a reason in the action bar to {verb}.")
        return None
    return f"{reason} (admin console, {request.user})"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ContactInline(admin.TabularInline):
    model = PartnerContact
    extra = 0
    fields = ["role", "name", "email", "phone", "title"]


class AgreementInline(admin.TabularInline):
    model = PartnerAgreement
    extra = 0
    fields = [
        "version",
        "referral_fee_minor",
        "currency",
        "revenue_share_bps",
        "signed_by",
        "signed_at",
        "effective_from",
        "effective_until",
    ]


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fk_name = "partner"
    fields = ["prefix", "name", "environment", "status", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields


class RecentUsageFormSet(BaseInlineFormSet):
    """Only the partner's recent usage rows: a partner accrues a row per endpoint per day, and the
    change page must not load years of them. The rest is on the usage changelist (linked)."""

    def get_queryset(self) -> QuerySet[PartnerUsageDaily]:
        if not hasattr(self, "_queryset"):
            days, rows = UsageInline.recent_days, UsageInline.recent_rows
            since = timezone.now().date() - timedelta(days=days - 1)  # usage days are UTC days
            # Served by the (partner, -day) index; the slice bounds even a partner calling
            # hundreds of endpoints a day.
            self._queryset = self.queryset.filter(day__gte=since).order_by("-day", "endpoint")[
                :rows
            ]
        return self._queryset


class UsageInline(ReadOnlyInline):
    model = PartnerUsageDaily
    formset = RecentUsageFormSet
    template = "admin/partners/partner/recent_usage_inline.html"
    verbose_name_plural = "recent usage"
    recent_days = 30
    recent_rows = 200
    show_change_link = False
    fields = ["day", "endpoint", "calls", "errors", "rate_limited", "average_latency_ms"]
    readonly_fields = fields


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "partner_type",
        "status",
        "tier",
        "rate_limit_per_minute",
        "created_at",
    ]
    list_filter = ["status", "tier", "partner_type"]
    search_fields = ["name", "slug", "public_id"]
    readonly_fields = ["public_id", "status", "status_reason", "status_changed_at"]
    inlines = [ContactInline, AgreementInline, ApiKeyInline, UsageInline]
    action_form = ReasonActionForm
    actions = [
        "activate",
        "suspend",
        "reactivate",
        "generate_live_key",
        "generate_test_key",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Partner | None = None) -> list[str]:
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if change:
            lifecycle.partner_update(
                partner=obj,
                actor=request.user,
                **{
                    f: getattr(obj, f) for f in form.changed_data if f in lifecycle.UPDATABLE_FIELDS
                },
            )
        else:
            created = lifecycle.partner_create(
                name=obj.name,
                slug=obj.slug,
                partner_type=obj.partner_type,
                tier=obj.tier,
                website=obj.website,
                description=obj.description,
                actor=request.user,
            )
            obj.pk, obj.public_id = created.pk, created.public_id
            if obj.rate_limit_per_minute:
                lifecycle.partner_update(
                    partner=created,
                    actor=request.user,
                    rate_limit_per_minute=obj.rate_limit_per_minute,
                )

    @admin.action(description="Activate selected partners")
    def activate(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        _each(
            request,
            queryset,
            lambda p: lifecycle.partner_activate(partner=p, actor=request.user) and None,
            "Activated",
        )

    @admin.action(description="Suspend selected partners (takes effect on their next request)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        reason = _reason(request, "suspend")
        if reason is None:
            return
        _each(
            request,
            queryset,
            lambda p: (
                lifecycle.partner_suspend(partner=p, reason=reason, actor=request.user) and None
            ),
            "Suspended",
        )

    @admin.action(description="Reactivate selected partners")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        _each(
            request,
            queryset,
            lambda p: lifecycle.partner_reactivate(partner=p, actor=request.user) and None,
            "Reactivated",
        )

    def _generate(self, request: HttpRequest, queryset: QuerySet[Partner], env: str) -> None:
        def issue(partner: Partner) -> str:
            issued = credentials.api_key_generate(
                partner=partner, name=f"admin console ({env})", environment=env, actor=request.user
            )
            return (
                f"New key for {partner.slug} ({issued.api_key.public_id}), shown only now: "
                f"{issued.secret}"
            )

        _each(request, queryset, issue, "Keys created")

    @admin.action(description="Generate a live API key (shown once)")
    def generate_live_key(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._generate(request, queryset, ApiKey.Environment.LIVE)

    @admin.action(description="Generate a test API key (shown once)")
    def generate_test_key(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._generate(request, queryset, ApiKey.Environment.TEST)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "partner",
        "environment",
        "status",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["environment", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["partner"]
    search_fields = ["prefix", "name", "public_id", "partner__slug"]
    readonly_fields = [
        "public_id",
        "partner",
        "name",
        "environment",
        "prefix",
        "scopes",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
        "created_by",
        "replaced_by",
    ]
    exclude = ["key_hash"]
    actions = ["rotate", "revoke"]
    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are generated from the partner page, so the secret can be shown

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the audit trail keeps the key's row

    @admin.action(description="Rotate selected keys (old key keeps working for the grace period)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        def rotate_one(api_key: ApiKey) -> str:
            issued = credentials.api_key_rotate(api_key=api_key, actor=request.user)
            return (
                f"Replacement for {api_key.prefix}… ({issued.api_key.public_id}), shown only now: "
                f"{issued.secret}"
            )

        _each(request, queryset, rotate_one, "Rotated")

    @admin.action(description="Revoke selected keys now")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        reason = request.POST.get("reason", "").strip() or f"admin console, {request.user}"
        _each(
            request,
            queryset,
            lambda k: (
                credentials.api_key_revoke(api_key=k, actor=request.user, reason=reason) and None
            ),
            "Revoked",
        )


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "partner", "status", "client_type", "grant_type", "submitted_at"]
    list_filter = ["status", "client_type", "grant_type"]
    list_select_related = ["partner"]
    search_fields = ["name", "public_id", "partner__slug"]
    readonly_fields = [
        "public_id",
        "status",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "published_at",
        "deprecated_at",
        "oauth_client",
    ]
    actions = ["start_review", "approve", "reject", "publish", "deprecate"]
    action_form = ReasonActionForm

    def _run(
        self, request: HttpRequest, queryset: QuerySet, service: Callable[..., Any], done: str
    ) -> None:
        _each(
            request, queryset, lambda a: service(application=a, actor=request.user) and None, done
        )

    @admin.action(description="Start review")
    def start_review(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, app_services.application_start_review, "In review")

    @admin.action(description="Approve (creates the OAuth client; secret shown once)")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        def approve_one(application: PartnerApplication) -> str:
            approved = app_services.application_approve(application=application, actor=request.user)
            secret = approved.client_secret or "(public client: no secret)"
            return (
                f"{application.name}: client id {approved.client_id}, client secret shown only "
                f"now: {secret}"
            )

        _each(request, queryset, approve_one, "Approved")

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = _reason(request, "reject")
        if reason is None:
            return
        _each(
            request,
            queryset,
            lambda a: (
                app_services.application_reject(application=a, reason=reason, actor=request.user)
                and None
            ),
            "Rejected",
        )

    @admin.action(description="Publish")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, app_services.application_publish, "Published")

    @admin.action(description="Deprecate")
    def deprecate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, app_services.application_deprecate, "Deprecated")


@admin.register(PartnerOAuthClient)
class PartnerOAuthClientAdmin(admin.ModelAdmin):
    list_display = ["public_id", "partner", "client_id", "revoked_at", "created_at"]
    list_select_related = ["partner", "application"]
    search_fields = ["public_id", "partner__slug", "application__client_id"]
    readonly_fields = ["public_id", "partner", "application", "scopes", "revoked_at"]

    @admin.display(description="client id")
    def client_id(self, obj: PartnerOAuthClient) -> str:
        return format_html("<code>{}</code>", obj.application.client_id)


@admin.register(PartnerUsageDaily)
class PartnerUsageDailyAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "partner",
        "endpoint",
        "calls",
        "errors",
        "rate_limited",
        "average_latency_ms",
    ]
    list_filter = ["day", "partner__tier"]
    list_select_related = ["partner"]
    search_fields = ["partner__slug", "endpoint"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
