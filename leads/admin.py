"""Lead console: leads (PHI only for ``rbac.view_phi``, audited), pipeline actions, encryption
keys, category mapping and ingest failure counts (decryption failures among them)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from leads.models import CategoryMapping, IngestFailureCount, Lead, LeadEncryptionKey, LostReason
from leads.services import pipeline
from leads.services.keys import encryption_key_create, encryption_key_expire
from rbac.console import ClinicScopedAdmin
from rbac.models import Clinic, User

PHI_FIELDS = ("phi_phone", "phi_first_name", "phi_last_name", "phi_need", "phi_metadata")
HIDDEN = _("hidden: needs the view_phi permission")


def _each(request: HttpRequest, queryset: QuerySet[Lead], action: Callable[[Lead], Any]) -> int:
    done = 0
    for lead in queryset:
        try:
            action(lead)
        except DomainError as exc:
            messages.error(request, f"{lead.public_id}: {exc.detail}")
            continue
        done += 1
    if done:
        messages.success(request, _("%(count)d lead(s) updated.") % {"count": done})
    return done


class AssignForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.filter(is_active=True), required=False)
    specialist = forms.ModelChoiceField(
        queryset=User.objects.filter(kind=User.Kind.SPECIALIST, is_active=True), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("clinic") and not data.get("specialist"):
            raise forms.ValidationError(_("Choose a clinic or a specialist."))
        return data


class LostForm(forms.Form):
    reason = forms.ChoiceField(choices=LostReason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Lead)
class LeadAdmin(ClinicScopedAdmin):
    # A lead is its clinic's once routed there; before that, platform staff work it.
    clinic_field = "assigned_clinic"
    phi_patient = "patient"
    phi_fields = PHI_FIELDS
    list_display = (
        "public_id",
        "partner",
        "status",
        "healthcare_category",
        "location_state",
        "referral_fee",
        "created_at",
    )
    list_filter = ("partner", "status", "healthcare_category", "location_state", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("public_id", "source_lead_id")
    list_select_related = ("partner",)
    ordering = ("-created_at",)
    actions = ["mark_contacted", "mark_qualified", "assign", "mark_converted", "mark_lost"]
    readonly_fields = (
        "public_id",
        "partner",
        "source_platform",
        "source_lead_id",
        "status",
        "status_changed_at",
        "lost_reason",
        "lost_note",
        "business_category",
        "healthcare_category",
        "language",
        "location_state",
        "country",
        "referral_fee",
        "assigned_clinic",
        "assigned_specialist",
        "encryption_kid",
        "welcome_message_ref",
        "welcome_message_queued",
        "consent",
        "patient",
        *PHI_FIELDS,
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        # Changes go through the pipeline actions; the form is read-only.
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description=_("referral fee"))
    def referral_fee(self, lead: Lead) -> str:
        return f"{lead.referral_fee_minor / 100:.2f} {lead.referral_fee_currency}"

    def _phi(self, lead: Lead, value: str) -> str:
        return value if getattr(lead, "_phi_visible", False) else str(HIDDEN)

    @admin.display(description=_("phone"))
    def phi_phone(self, lead: Lead) -> str:
        return self._phi(lead, lead.patient.phone)

    @admin.display(description=_("first name"))
    def phi_first_name(self, lead: Lead) -> str:
        return self._phi(lead, lead.first_name)

    @admin.display(description=_("last name"))
    def phi_last_name(self, lead: Lead) -> str:
        return self._phi(lead, lead.last_name)

    @admin.display(description=_("need"))
    def phi_need(self, lead: Lead) -> str:
        return self._phi(lead, lead.need)

    @admin.display(description=_("metadata"))
    def phi_metadata(self, lead: Lead) -> str:
        return self._phi(lead, lead.metadata)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        lead = super().get_object(request, object_id, from_field)
        if lead is not None:
            lead._phi_visible = self.phi_visible(request, lead)
        return lead

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lead]:
        return super().get_queryset(request).select_related("partner", "patient")

    @admin.action(description=_("Mark contacted"), permissions=["change"])
    def mark_contacted(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        _each(request, queryset, lambda lead: pipeline.lead_contact(lead=lead, actor=request.user))

    @admin.action(description=_("Mark qualified"), permissions=["change"])
    def mark_qualified(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        _each(request, queryset, lambda lead: pipeline.lead_qualify(lead=lead, actor=request.user))

    @admin.action(description=_("Mark converted"), permissions=["change"])
    def mark_converted(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        _each(request, queryset, lambda lead: pipeline.lead_convert(lead=lead, actor=request.user))

    def _form_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Lead],
        *,
        action: str,
        title: str,
        form_class: type[forms.Form],
        apply: Callable[[Lead, dict[str, Any]], Any],
    ) -> HttpResponse | None:
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            _each(request, queryset, lambda lead: apply(lead, form.cleaned_data))
            return None
        return TemplateResponse(
            request,
            "admin/leads/lead/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "leads": queryset.select_related("partner"),
                "form": form,
                "action": action,
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Assign to a clinic or specialist…"), permissions=["change"])
    def assign(self, request: HttpRequest, queryset: QuerySet[Lead]) -> HttpResponse | None:
        return self._form_action(
            request,
            queryset,
            action="assign",
            title=str(_("Assign")),
            form_class=AssignForm,
            apply=lambda lead, data: pipeline.lead_assign(
                lead=lead, clinic=data["clinic"], specialist=data["specialist"], actor=request.user
            ),
        )

    @admin.action(description=_("Mark lost…"), permissions=["change"])
    def mark_lost(self, request: HttpRequest, queryset: QuerySet[Lead]) -> HttpResponse | None:
        return self._form_action(
            request,
            queryset,
            action="mark_lost",
            title=str(_("Mark lost")),
            form_class=LostForm,
            apply=lambda lead, data: pipeline.lead_lose(
                lead=lead, reason=data["reason"], note=data["note"], actor=request.user
            ),
        )


@admin.register(LeadEncryptionKey)
class LeadEncryptionKeyAdmin(admin.ModelAdmin):
    list_display = (
        "kid",
        "partner",
        "key_size",
        "state",
        "created_at",
        "retired_at",
        "decrypt_until",
    )
    list_filter = ("partner", ("retired_at", admin.EmptyFieldListFilter))
    search_fields = ("kid", "partner__slug")
    list_select_related = ("partner",)
    fields = (
        "kid",
        "partner",
        "key_size",
        "public_key_pem",
        "created_at",
        "retired_at",
        "decrypt_until",
    )
    readonly_fields = fields
    actions = ["rotate", "expire_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeadEncryptionKey]:
        return super().get_queryset(request).defer("private_key_pem")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("state"))
    def state(self, key: LeadEncryptionKey) -> str:
        return "active" if key.is_active else "retired"

    @admin.action(
        description=_("Rotate the partner's key pair (old one keeps a grace period)"),
        permissions=["change"],
    )
    def rotate(self, request: HttpRequest, queryset: QuerySet[LeadEncryptionKey]) -> None:
        for partner in {key.partner for key in queryset.filter(retired_at__isnull=True)}:
            created = encryption_key_create(partner=partner, actor=request.user)
            messages.success(request, f"{partner.slug}: new key {created.key.kid}.")

    @admin.action(description=_("End the grace period of retired keys now"), permissions=["change"])
    def expire_now(self, request: HttpRequest, queryset: QuerySet[LeadEncryptionKey]) -> None:
        for key in queryset:
            try:
                encryption_key_expire(key=key, actor=request.user)
            except DomainError as exc:
                messages.error(request, f"{key.kid}: {exc.detail}")


@admin.register(CategoryMapping)
class CategoryMappingAdmin(admin.ModelAdmin):
    list_display = ("business_category", "healthcare_category", "is_active", "updated_at")
    list_editable = ("healthcare_category", "is_active")
    list_filter = ("healthcare_category", "is_active")
    search_fields = ("business_category",)


@admin.register(IngestFailureCount)
class IngestFailureCountAdmin(admin.ModelAdmin):
    """Refused ingests per partner and day: decryption_failed and unknown_key_id are the
    seed's "failed decryptions" to alert on."""

    list_display = ("day", "partner", "code", "count", "last_at")
    list_filter = ("code", "partner", "day")
    list_select_related = ("partner",)
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
