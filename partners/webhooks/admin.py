"""Console for events and webhooks: endpoints with their 24 h success rate and last failure,
the message log with attempts inline, and actions that call the services."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from partners.models import (
    EventType,
    PlatformEvent,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from partners.services.webhooks import (
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_recover,
    webhook_endpoint_replay,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_message_retry,
)


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "schema_version", "deprecated", "planned")
    list_filter = ("deprecated", "planned")
    search_fields = ("name", "description")


@admin.register(PlatformEvent)
class PlatformEventAdmin(admin.ModelAdmin):
    list_display = ("public_id", "event_type", "owner", "occurred_at", "fanned_out_at")
    list_filter = ("event_type",)
    list_select_related = ("event_type", "owner")
    search_fields = ("public_id", "owner__slug", "owner__public_id")
    readonly_fields = [f.name for f in PlatformEvent._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RecoverActionForm(ActionForm):
    since_hours = forms.IntegerField(
        label=_("Since (hours ago)"), min_value=1, initial=24, required=False
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "partner",
        "url",
        "enabled",
        "success_rate_24h",
        "last_failure_at",
        "last_failure_reason",
    )
    list_filter = ("enabled",)
    list_select_related = ("partner",)
    search_fields = ("public_id", "url", "partner__slug", "partner__name")
    fields = (
        "public_id",
        "partner",
        "url",
        "description",
        "event_types",
        "rate_limit_per_second",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "last_success_at",
        "last_failure_at",
        "last_failure_reason",
        "previous_secret_expires_at",
        "created_at",
    )
    readonly_fields = tuple(
        f for f in fields if f not in ("description", "event_types", "rate_limit_per_second")
    )
    action_form = RecoverActionForm
    actions = (
        "enable_endpoints",
        "disable_endpoints",
        "recover_failed",
        "replay_events",
        "send_test_event",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners register endpoints through the API (the secret is shown once)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        recent = WebhookAttempt.objects.filter(
            message__endpoint=OuterRef("pk"),
            started_at__gte=timezone.now() - timedelta(hours=24),
        )

        def count(attempts: QuerySet) -> Coalesce:
            counted = attempts.order_by().values("message__endpoint").annotate(n=Count("pk"))
            return Coalesce(Subquery(counted.values("n")), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(
                attempts_24h=count(recent),
                successes_24h=count(recent.filter(success=True)),
            )
        )

    @admin.display(description=_("Success (24 h)"))
    def success_rate_24h(self, obj: WebhookEndpoint) -> str:
        if not obj.attempts_24h:
            return "—"
        return f"{100 * obj.successes_24h / obj.attempts_24h:.1f}% of {obj.attempts_24h}"

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        try:
            webhook_endpoint_update(
                endpoint=obj,
                actor=request.user,
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"] or [],
                rate_limit_per_second=form.cleaned_data["rate_limit_per_second"],
                request=request,
            )
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)

    def _each(self, request: HttpRequest, queryset: QuerySet, action, done: str) -> None:
        count = 0
        for endpoint in queryset.select_related("partner"):
            try:
                action(endpoint)
                count += 1
            except DomainError as exc:
                self.message_user(request, f"{endpoint.public_id}: {exc.detail}", messages.ERROR)
        self.message_user(request, done.format(count=count), messages.SUCCESS)

    @admin.action(description=_("Enable selected endpoints"))
    def enable_endpoints(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda e: webhook_endpoint_enable(endpoint=e, actor=request.user, request=request),
            "{count} endpoint(s) enabled.",
        )

    @admin.action(description=_("Disable selected endpoints"))
    def disable_endpoints(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda e: webhook_endpoint_disable(
                endpoint=e, actor=request.user, reason="Disabled by an operator.", request=request
            ),
            "{count} endpoint(s) disabled.",
        )

    @admin.action(description=_("Recover failed messages (since the hours given)"))
    def recover_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        hours = int(request.POST.get("since_hours") or 24)
        since = timezone.now() - timedelta(hours=hours)
        total = 0

        def recover(endpoint: WebhookEndpoint) -> None:
            nonlocal total
            total += webhook_endpoint_recover(
                endpoint=endpoint, since=since, actor=request.user, request=request
            )

        self._each(request, queryset, recover, "{count} endpoint(s) recovered.")
        self.message_user(request, f"{total} message(s) queued again.", messages.INFO)

    @admin.action(description=_("Replay all events (since the hours given)"))
    def replay_events(self, request: HttpRequest, queryset: QuerySet) -> None:
        since = timezone.now() - timedelta(hours=int(request.POST.get("since_hours") or 24))
        total = 0

        def replay(endpoint: WebhookEndpoint) -> None:
            nonlocal total
            total += webhook_endpoint_replay(
                endpoint=endpoint, since=since, actor=request.user, request=request
            )

        self._each(request, queryset, replay, "{count} endpoint(s) replayed.")
        self.message_user(request, f"{total} message(s) queued.", messages.INFO)

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda e: webhook_endpoint_send_test(endpoint=e, actor=request.user, request=request),
            "Test event sent to {count} endpoint(s).",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "trigger",
        "started_at",
        "duration_ms",
        "success",
        "status_code",
        "error",
        "response_body",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "endpoint",
        "event_type",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "event__event_type")
    list_select_related = ("endpoint", "event__event_type")
    search_fields = ("public_id", "event__public_id", "endpoint__public_id")
    readonly_fields = [f.name for f in WebhookMessage._meta.fields]
    inlines = (WebhookAttemptInline,)
    actions = ("retry_messages",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("Event type"), ordering="event__event_type__name")
    def event_type(self, obj: WebhookMessage) -> str:
        return obj.event.event_type.name

    @admin.action(description=_("Retry selected messages now"))
    def retry_messages(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for message in queryset.select_related("endpoint__partner"):
            try:
                webhook_message_retry(message=message, actor=request.user, request=request)
                count += 1
            except DomainError as exc:
                self.message_user(request, f"{message.public_id}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
