"""Console: templates with preview, campaigns with progress and launch/cancel, message log,
opt-outs, reminders and tasks. Addresses and message content (PHI) are not shown."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from engagement.models import (
    Campaign,
    Message,
    MessageAttempt,
    MessageTemplate,
    OptOut,
    PatientTask,
    PushSubscription,
    Reminder,
)
from engagement.selectors import campaign_analytics
from engagement.services import campaigns, templates
from rbac.console import ClinicScopedAdmin, ClinicScopedInline


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ClinicScopedAdmin):
    shared = True  # one catalogue for every clinic: no clinic, no patient
    list_display = ["key", "language", "description", "is_active", "updated_at"]
    list_filter = ["language", "is_active", "key"]
    search_fields = ["key", "description"]
    readonly_fields = ["public_id", "preview"]
    fields = [
        "public_id",
        "key",
        "language",
        "description",
        "variables",
        "subject",
        "body",
        "html_body",
        "is_active",
        "preview",
    ]

    @admin.display(description=_("Preview (variables shown as [name])"))
    def preview(self, obj: MessageTemplate) -> str:
        if obj.pk is None:
            return "-"
        try:
            rendered = templates.template_preview(template=obj)
        except DomainError as exc:
            return str(exc.detail)
        return format_html(
            "<p><strong>{}</strong></p><pre style='white-space:pre-wrap'>{}</pre>{}",
            rendered.subject,
            rendered.body,
            format_html(
                "<hr><iframe srcdoc='{}' sandbox style='width:100%'></iframe>", rendered.html_body
            )
            if rendered.html_body
            else "",
        )

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form, change: bool) -> None:
        templates.template_save(
            actor=request.user,
            template=obj if change else None,
            key=obj.key,
            language=obj.language,
            body=obj.body,
            variables=list(obj.variables),
            subject=obj.subject,
            html_body=obj.html_body,
            description=obj.description,
            is_active=obj.is_active,
        )


@admin.register(Campaign)
class CampaignAdmin(ClinicScopedAdmin):
    list_display = [
        "name",
        "clinic",
        "channel",
        "template_key",
        "status",
        "progress",
        "targeted_count",
        "suppressed_count",
        "scheduled_at",
    ]
    list_filter = ["status", "channel", "clinic"]
    list_select_related = ["clinic"]
    search_fields = ["name", "public_id"]
    readonly_fields = [
        "public_id",
        "status",
        "audience_size",
        "targeted_count",
        "suppressed_count",
        "batches_done",
        "cursor",
        "started_at",
        "finished_at",
        "created_by",
        "analytics",
    ]
    actions = ["launch", "cancel"]

    @admin.display(description=_("Progress"))
    def progress(self, obj: Campaign) -> str:
        return f"{obj.progress_percent}% ({obj.targeted_count}/{obj.audience_size})"

    @admin.display(description=_("Analytics"))
    def analytics(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "-"
        rows = campaign_analytics(campaign=obj).items()
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = campaigns.campaign_create(
            clinic=obj.clinic,
            name=obj.name,
            channel=obj.channel,
            template_key=obj.template_key,
            segment=obj.segment,
            scheduled_at=obj.scheduled_at,
            create_task_title=obj.create_task_title,
            actor=request.user,
        )
        obj.pk, obj.public_id = created.pk, created.public_id

    def _each(self, request: HttpRequest, queryset: QuerySet[Campaign], action, verb) -> None:
        done = 0
        for campaign in queryset:
            try:
                action(campaign=campaign, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.detail}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} campaign(s) {verb}.", messages.SUCCESS)

    @admin.action(description=_("Launch selected draft campaigns"))
    def launch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, campaigns.campaign_launch, "launched")

    @admin.action(description=_("Cancel selected campaigns"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, campaigns.campaign_cancel, "cancelled")


class MessageAttemptInline(ClinicScopedInline, admin.TabularInline):
    model = MessageAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "attempted_at", "outcome", "provider_message_id", "error"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ClinicScopedAdmin):
    person_field = "recipient"
    phi_patient = "recipient"
    list_display = [
        "public_id",
        "channel",
        "purpose",
        "language",
        "status",
        "attempts",
        "clinic",
        "campaign",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "purpose", "language", "urgent", "created_at"]
    list_select_related = ["clinic", "campaign"]
    search_fields = ["=public_id", "=provider_message_id", "=dedupe_key"]
    date_hierarchy = "created_at"
    fields = [
        "public_id",
        "channel",
        "purpose",
        "template_key",
        "language",
        "recipient",
        "clinic",
        "campaign",
        "dedupe_key",
        "urgent",
        "status",
        "send_after",
        "provider",
        "provider_message_id",
        "attempts",
        "last_error",
        "sent_at",
        "delivered_at",
        "failed_at",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [MessageAttemptInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).defer("to_address", "subject", "body", "html_body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OptOut)
class OptOutAdmin(ClinicScopedAdmin):
    clinic_field = None  # an opt-out is the person's, for every clinic
    person_field = "user"
    phi_patient = "user"
    list_display = ["public_id", "channel", "source", "keyword", "user", "created_at"]
    list_filter = ["channel", "source", "created_at"]
    list_select_related = ["user"]
    search_fields = ["=public_id"]
    readonly_fields = ["public_id", "recipient_index", "channel", "source", "keyword", "user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Reminder)
class ReminderAdmin(ClinicScopedAdmin):
    person_field = "patient"
    phi_patient = "patient"
    list_display = [
        "public_id",
        "title",
        "patient",
        "clinic",
        "channel",
        "rrule",
        "next_run_at",
        "status",
    ]
    list_filter = ["status", "channel", "clinic"]
    list_select_related = ["patient", "clinic"]
    search_fields = ["=public_id", "=related_ref"]  # titles are encrypted: not searchable
    readonly_fields = ["public_id", "next_run_at", "created_by"]
    raw_id_fields = ["patient"]


@admin.register(PatientTask)
class PatientTaskAdmin(ClinicScopedAdmin):
    person_field = "patient"
    phi_patient = "patient"
    list_display = ["public_id", "title", "patient", "clinic", "due_at", "status", "completed_at"]
    list_filter = ["status", "clinic"]
    list_select_related = ["patient", "clinic"]
    search_fields = ["=public_id"]  # titles are encrypted: not searchable
    readonly_fields = ["public_id", "completed_at", "created_by"]
    raw_id_fields = ["patient", "campaign"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ClinicScopedAdmin):
    clinic_field = None
    person_field = "user"
    phi_patient = "user"
    list_display = ["public_id", "user", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["user"]
    readonly_fields = ["public_id", "user", "endpoint", "p256dh", "auth", "user_agent"]
