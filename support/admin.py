"""The support console: an agent view with SLA countdowns, policy and calendar editing, CSAT."""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from rbac.console import ClinicScopedAdmin, ClinicScopedInline, clinics_with
from rbac.models import User
from rbac.scoping import is_platform_staff
from rbac.services import actor_for_user
from support.models import (
    AgentProfile,
    AgentWorkingHours,
    BusinessCalendar,
    BusinessHours,
    Closure,
    CsatResponse,
    Queue,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketComment,
)
from support.permissions import Desks, agent_desks
from support.selectors import csat_report, filter_sla_state
from support.services.escalation import EscalationKind, ticket_escalate
from support.services.tickets import ticket_assign


class SlaStateFilter(admin.SimpleListFilter):
    title = _("SLA state")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("breached", _("Breached")), ("warning", _("Warning")), ("ok", _("On track"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return filter_sla_state(queryset, self.value() or "", now=timezone.now())


def _countdown(due: datetime | None, *, met: bool, paused: bool, breached: bool) -> str:
    if due is None:
        return "—"
    if met:
        return format_html('<span style="color:#555">{}</span>', _("met"))
    if paused:
        return format_html('<span style="color:#555">{}</span>', _("paused"))
    seconds = int((due - timezone.now()).total_seconds())
    minutes = abs(seconds) // 60
    text = f"{minutes // 60}h{minutes % 60:02d}m"
    if seconds <= 0 or breached:
        return format_html('<strong style="color:#ba2121">{} {}</strong>', _("overdue"), text)
    if seconds < 3600:
        return format_html('<span style="color:#b36b00">{}</span>', text)
    return text


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(support_profiles__is_active=True).distinct()
    )


class TicketCommentInline(ClinicScopedInline, admin.TabularInline):
    model = TicketComment
    extra = 0
    fields = ["public_id", "kind", "author", "is_agent", "language", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False


@admin.register(Ticket)
class TicketAdmin(ClinicScopedAdmin):
    phi_patient = "requester"
    list_display = [
        "public_id",
        "clinic",
        "queue",
        "status",
        "priority",
        "assignee",
        "language",
        "first_response_countdown",
        "next_response_countdown",
        "resolution_countdown",
        "escalation_level",
        "created_at",
    ]
    list_filter = ["queue", "status", "priority", SlaStateFilter, "clinic", "language", "channel"]
    list_select_related = ["clinic", "queue", "assignee"]
    search_fields = ["public_id", "=requester__public_id", "category"]
    readonly_fields = [
        f.name for f in Ticket._meta.fields if f.name not in ("subject", "description", "category")
    ]
    inlines = [TicketCommentInline]
    actions = ["assign_selected", "escalate_selected"]
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        qs = super().get_queryset(request)
        if is_platform_staff(request.user):
            return qs
        # Of the clinics' tickets, those of the desks the agent works.
        return qs.filter(agent_desks(request.user).q())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets are created through the service (routing, SLA)

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    @admin.display(description=_("First response"), ordering="first_response_due_at")
    def first_response_countdown(self, ticket: Ticket) -> str:
        return _countdown(
            ticket.first_response_due_at,
            met=ticket.first_responded_at is not None,
            paused=ticket.sla_paused_at is not None,
            breached=ticket.first_response_breached_at is not None,
        )

    @admin.display(description=_("Next response"), ordering="next_response_due_at")
    def next_response_countdown(self, ticket: Ticket) -> str:
        return _countdown(
            ticket.next_response_due_at,
            met=False,
            paused=ticket.sla_paused_at is not None,
            breached=ticket.next_response_breached_at is not None,
        )

    @admin.display(description=_("Resolution"), ordering="resolution_due_at")
    def resolution_countdown(self, ticket: Ticket) -> str:
        return _countdown(
            ticket.resolution_due_at,
            met=ticket.solved_at is not None,
            paused=ticket.sla_paused_at is not None,
            breached=ticket.resolution_breached_at is not None,
        )

    @admin.action(description=_("Assign selected tickets to an agent"))
    def assign_selected(
        self, request: HttpRequest, queryset: QuerySet[Ticket]
    ) -> HttpResponse | None:
        if "apply" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                done, failed = 0, 0
                for ticket in queryset:
                    try:
                        ticket_assign(
                            ticket=ticket,
                            assignee=form.cleaned_data["assignee"],
                            actor=actor_for_user(request.user),
                            request=request,
                        )
                        done += 1
                    except DomainError as exc:
                        failed += 1
                        self.message_user(request, f"{ticket}: {exc.detail}", messages.ERROR)
                self.message_user(request, _("%d ticket(s) assigned.") % done, messages.SUCCESS)
                return None
        else:
            form = AssignForm()
        return TemplateResponse(
            request,
            "admin/support/ticket/assign.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Assign tickets"),
                "form": form,
                "tickets": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Escalate selected tickets to a supervisor"))
    def escalate_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        done = 0
        for ticket in queryset:
            try:
                ticket_escalate(
                    ticket=ticket,
                    actor=actor_for_user(request.user),
                    reason="Escalated from the admin console",
                    kind=EscalationKind.AGENT,
                    request=request,
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{ticket}: {exc.detail}", messages.ERROR)
        self.message_user(request, _("%d ticket(s) escalated.") % done, messages.SUCCESS)


class SlaTargetInline(ClinicScopedInline, admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "partner_tier", "calendar"]
    list_filter = ["clinic", "partner_tier"]
    list_select_related = ["clinic", "calendar"]
    search_fields = ["name", "public_id"]
    inlines = [SlaTargetInline]


class BusinessHoursInline(ClinicScopedInline, admin.TabularInline):
    model = BusinessHours
    extra = 0


class ClosureInline(ClinicScopedInline, admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "timezone", "holiday_country", "holiday_subdivision"]
    list_filter = ["clinic", "holiday_country"]
    list_select_related = ["clinic"]
    search_fields = ["name", "public_id"]
    inlines = [BusinessHoursInline, ClosureInline]


@admin.register(Queue)
class QueueAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "language", "region", "is_escalation", "supervisor"]
    list_filter = ["clinic", "language", "is_escalation", "is_active"]
    list_select_related = ["clinic", "supervisor"]
    search_fields = ["name", "public_id"]


class AgentWorkingHoursInline(ClinicScopedInline, admin.TabularInline):
    model = AgentWorkingHours
    extra = 0


@admin.register(AgentProfile)
class AgentProfileAdmin(ClinicScopedAdmin):
    list_display = ["user", "clinic", "languages", "timezone", "is_supervisor", "is_active"]
    list_filter = ["clinic", "is_supervisor", "is_active"]
    list_select_related = ["user", "clinic"]
    search_fields = ["user__username", "user__public_id"]
    raw_id_fields = ["user"]
    inlines = [AgentWorkingHoursInline]


@admin.register(CsatResponse)
class CsatResponseAdmin(ClinicScopedAdmin):
    phi_patient = "ticket__requester"
    list_display = ["ticket", "rating", "clinic", "queue", "agent", "created_at"]
    list_filter = ["rating", "clinic", "queue"]
    list_select_related = ["ticket", "clinic", "queue", "agent"]
    search_fields = ["ticket__public_id"]
    readonly_fields = ["ticket", "rating", "comment", "clinic", "queue", "agent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="support_csat_report"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Average rating per clinic, queue and agent, of the staff member's clinics."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        desks = None
        if not is_platform_staff(request.user):
            clinic_ids = clinics_with(
                request, ["support.view_csatresponse", "support.change_csatresponse"]
            )
            desks = Desks(clinic_ids=frozenset(clinic_ids), platform=False)
        return TemplateResponse(
            request,
            "admin/support/csat_report.html",
            {
                **self.admin_site.each_context(request),
                "title": _("CSAT report"),
                "report": csat_report(desks=desks),
                "opts": self.model._meta,
            },
        )
