"""The console for rbac: users, clinics, roles, memberships, consent ledger, audit log.

Writes go through ``rbac.services`` (so they are audited). Encrypted columns are never searched
in clear: the search box matches an exact phone or email through its blind index.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from careos.fields import EncryptedTextField
from rbac import services
from rbac.console import SELF, ClinicScopedAdmin, ClinicScopedInline, clinics_with
from rbac.models import AuditEvent, Clinic, ConsentRecord, Membership, Role, User
from rbac.scoping import is_platform_staff
from rbac.selectors import contact_match_q

_ENCRYPTED_AS_INPUT = {EncryptedTextField: {"widget": forms.TextInput(attrs={"size": 40})}}


def _with_contact_search(
    queryset: QuerySet, results: QuerySet, search_term: str, user_path: str
) -> QuerySet:
    """Add rows whose user (``user_path``) has exactly this phone or email (blind index)."""
    q = contact_match_q(search_term, prefix=user_path)
    return results | queryset.filter(q) if q is not None else results


# --- users ---------------------------------------------------------------------------------


class CareUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "kind")


class CareUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(ClinicScopedAdmin, DjangoUserAdmin):
    # A user belongs to the clinics of their memberships and care relationships.
    clinic_field = None
    person_field = "pk"
    phi_patient = SELF
    phi_fields = ("first_name", "last_name", "email", "phone", "date_of_birth")
    form = CareUserChangeForm
    add_form = CareUserCreationForm
    formfield_overrides = _ENCRYPTED_AS_INPUT
    fieldsets = (
        (None, {"fields": ("username", "password", "public_id", "kind")}),
        (
            _("Personal info (encrypted)"),
            {"fields": ("first_name", "last_name", "email", "phone", "date_of_birth")},
        ),
        (_("Locale"), {"fields": ("preferred_language", "region", "timezone")}),
        (_("Referral source"), {"fields": ("source", "source_lead_id", "location_state")}),
        (_("Access log"), {"fields": ("audit_log_link",)}),
        (
            _("Django admin access"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "kind", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("public_id", "audit_log_link", "last_login", "date_joined")
    # PHI stays out of the changelist; open a user to see it (that read is audited).
    list_display = ("username", "public_id", "kind", "region", "source", "is_staff", "is_active")
    list_filter = ("kind", "is_staff", "is_superuser", "is_active", "region", "source")
    # Plain columns only; phone/email are matched exactly through the blind index below.
    search_fields = ("username", "=public_id", "=source_lead_id")
    search_help_text = _("Username, public id, or an exact phone number (+E.164) or email.")
    ordering = ("username",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return _with_contact_search(queryset, results, search_term, ""), may_have_duplicates

    @admin.display(description=_("Audit events"))
    def audit_log_link(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:rbac_auditevent_changelist")
        return format_html(
            '<a href="{}?patient={}">{}</a> · <a href="{}?actor={}">{}</a>',
            url,
            obj.public_id,
            _("about this patient"),
            url,
            obj.public_id,
            _("by this user"),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        # Console access and platform roles are granted by platform staff only.
        fields = super().get_readonly_fields(request, obj)
        if is_platform_staff(request.user):
            return fields
        return (*fields, "is_staff", "is_superuser", "groups", "user_permissions")

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.audit_record(
            actor=request.user,
            action="user.changed" if change else "user.created",
            target_type="user",
            target_ref=obj.public_id,
            patient=obj if obj.kind == User.Kind.PATIENT else None,
            request=request,
            metadata={"fields": sorted(form.changed_data)},
        )


# --- clinics -------------------------------------------------------------------------------


class MembershipInline(ClinicScopedInline, admin.TabularInline):
    """Read-only: memberships are granted and revoked through their own admin (audited)."""

    model = Membership
    fields = ("user", "role", "is_active", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user", "role", "role__clinic")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClinicForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ("name", "slug", "timezone", "languages", "regions", "is_active")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["languages"], data["regions"] = services.clinic_settings_clean(
                timezone=data.get("timezone") or "",
                languages=data.get("languages") or [],
                regions=data.get("regions") or [],
            )
        except DomainError as exc:
            raise ValidationError({exc.extra.get("field", "timezone"): exc.detail}) from exc
        return data


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_field = "pk"
    form = ClinicForm
    list_display = ("name", "slug", "public_id", "timezone", "member_count", "is_active")
    list_filter = ("is_active", "timezone")
    search_fields = ("name", "slug", "=public_id")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Clinic]:
        return super().get_queryset(request).annotate(_members=Count("memberships"))

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj: Clinic) -> int:
        return obj._members  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Clinic, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            services.audit_record(
                actor=request.user,
                action="clinic.changed",
                target_type="clinic",
                target_ref=obj.public_id,
                clinic=obj,
                request=request,
                metadata={"fields": sorted(form.changed_data)},
            )
            return
        # A new clinic gets its roles cloned from the templates: that is clinic_create's job.
        created = services.clinic_create(
            name=obj.name,
            slug=obj.slug,
            timezone=obj.timezone,
            languages=obj.languages,
            regions=obj.regions,
            actor=request.user,
        )
        if not obj.is_active:
            Clinic.objects.filter(pk=created.pk).update(is_active=False)
        for field in ("id", "public_id", "created_at", "updated_at"):
            setattr(obj, field, getattr(created, field))
        obj._state.adding = False
        obj._state.db = created._state.db


# --- roles ---------------------------------------------------------------------------------


class IsTemplateFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "template"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", _("System templates")), ("no", _("Clinic roles"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(clinic__isnull=True)
        if self.value() == "no":
            return queryset.filter(clinic__isnull=False)
        return queryset


@admin.register(Role)
class RoleAdmin(ClinicScopedAdmin):  # system templates (no clinic): platform staff only
    list_display = ("name", "slug", "clinic", "template", "permission_count")
    list_select_related = ("clinic", "template")
    list_filter = (IsTemplateFilter, "slug", "clinic")
    search_fields = ("name", "slug", "clinic__name", "=public_id")
    filter_horizontal = ("permissions",)
    readonly_fields = ("public_id", "template", "created_at", "updated_at")
    fields = ("public_id", "clinic", "template", "slug", "name", "description", "permissions")
    autocomplete_fields = ("clinic",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).annotate(_perm_count=Count("permissions"))

    @admin.display(description=_("permissions"), ordering="_perm_count")
    def permission_count(self, obj: Role) -> int:
        return obj._perm_count  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Role | None = None) -> tuple:
        if obj is not None:  # a role never moves to another clinic
            return (*self.readonly_fields, "clinic", "slug")
        return self.readonly_fields

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            kwargs["queryset"] = db_field.remote_field.model.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _template_locked(self, request: HttpRequest, obj: Role | None) -> bool:
        # System templates shape every new clinic: only superusers change them.
        return obj is not None and obj.is_template and not request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Role | None = None) -> bool:
        return super().has_change_permission(request, obj) and not self._template_locked(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Role | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._template_locked(
            request, obj
        )

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        role = form.instance
        services.audit_record(
            actor=request.user,
            action="role.changed" if change else "role.created",
            target_type="role",
            target_ref=role.public_id,
            clinic=role.clinic,
            request=request,
            metadata={
                "fields": sorted(form.changed_data),
                "permissions": sorted(
                    f"{p.content_type.app_label}.{p.codename}"
                    for p in role.permissions.select_related("content_type")
                ),
            },
        )


# --- memberships ---------------------------------------------------------------------------


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "clinic", "role")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        clinic, role = data.get("clinic") or self.instance_clinic(), data.get("role")
        if clinic is not None and role is not None and role.clinic_id != clinic.pk:
            raise ValidationError({"role": _("Choose one of this clinic's roles.")})
        return data

    def instance_clinic(self) -> Clinic | None:
        return self.instance.clinic if self.instance.pk else None

    def validate_unique(self) -> None:
        # membership_grant updates the existing membership of a user in a clinic.
        return None


@admin.register(Membership)
class MembershipAdmin(ClinicScopedAdmin):
    phi_patient = "user"  # a patient membership says who is a patient of the clinic
    form = MembershipForm
    list_display = ("user", "clinic", "role", "is_active", "created_at", "revoked_at")
    list_select_related = ("user", "clinic", "role", "role__clinic")
    list_filter = ("is_active", "role__slug", "clinic")
    search_fields = ("user__username", "=user__public_id", "clinic__name", "clinic__slug")
    search_help_text = _("Username, user id, clinic, or a user's exact phone or email.")
    autocomplete_fields = ("user", "clinic", "role")
    readonly_fields = ("is_active", "created_at", "revoked_at")
    actions = ["revoke_memberships"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, dupes = super().get_search_results(request, queryset, search_term)
        return _with_contact_search(queryset, results, search_term, "user__"), dupes

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple:
        if obj is not None:
            return (*self.readonly_fields, "user", "clinic")
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False  # revoke instead: the history stays

    def save_model(
        self, request: HttpRequest, obj: Membership, form: forms.Form, change: bool
    ) -> None:
        membership = services.membership_grant(
            user=obj.user, clinic=obj.clinic, role=obj.role, actor=request.user
        )
        obj.pk, obj._state.adding = membership.pk, False
        obj.is_active, obj.revoked_at = membership.is_active, membership.revoked_at

    @admin.action(description=_("Revoke selected memberships"), permissions=["change"])
    def revoke_memberships(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        count = 0
        for membership in queryset.filter(is_active=True).select_related("user", "role"):
            services.membership_revoke(
                membership=membership, actor=request.user, reason="Revoked in the admin console"
            )
            count += 1
        self.message_user(request, _("%(count)d membership(s) revoked.") % {"count": count})


# --- consent ledger ------------------------------------------------------------------------


class RevokeConsentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ClinicScopedAdmin):
    # A consent without a clinic covers every clinic of its patient.
    person_field = "patient"
    person_when_no_clinic = True
    phi_patient = "patient"
    list_display = (
        "public_id",
        "patient",
        "consent_type",
        "status",
        "source_platform",
        "language",
        "clinic",
        "created_at",
    )
    list_select_related = ("patient", "clinic")
    list_filter = ("status", "consent_type", "source_platform", "language", "clinic")
    search_fields = ("=public_id", "=patient__public_id", "patient__username")
    search_help_text = _("Consent id, patient id or username, or the patient's exact phone/email.")
    date_hierarchy = "created_at"
    actions = ["confirm_consents", "revoke_consents"]
    fields = (
        "public_id",
        "patient",
        "clinic",
        "consent_type",
        "status",
        "source_platform",
        "scope",
        "language",
        "text",
        "method",
        "given_at",
        "recorded_by",
        "confirmed_at",
        "confirmed_by",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
        "metadata",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, dupes = super().get_search_results(request, queryset, search_term)
        return _with_contact_search(queryset, results, search_term, "patient__"), dupes

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # consents are recorded by the flows that collect them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a ledger: revoke, never delete

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        if is_platform_staff(request.user):
            return request.user.has_perm("rbac.revoke_consent")
        return bool(clinics_with(request, ["rbac.revoke_consent"]))

    @admin.action(description=_("Confirm selected pending consents"), permissions=["change"])
    def confirm_consents(self, request: HttpRequest, queryset: QuerySet[ConsentRecord]) -> None:
        done = 0
        for consent in queryset.filter(status=ConsentRecord.Status.PENDING):
            services.consent_confirm(consent=consent, actor=request.user)
            done += 1
        self.message_user(request, _("%(count)d consent(s) confirmed.") % {"count": done})

    @admin.action(description=_("Revoke selected consents…"), permissions=["revoke"])
    def revoke_consents(
        self, request: HttpRequest, queryset: QuerySet[ConsentRecord]
    ) -> HttpResponse | None:
        revocable = queryset.exclude(status=ConsentRecord.Status.REVOKED).select_related(
            "patient", "clinic"
        )
        form = RevokeConsentForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for consent in revocable:
                services.consent_revoke(
                    consent=consent, actor=request.user, reason=form.cleaned_data["reason"]
                )
                done += 1
            self.message_user(request, _("%(count)d consent(s) revoked.") % {"count": done})
            return None
        if not revocable:
            self.message_user(request, _("No revocable consent selected."), messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke consents"),
            "opts": self.model._meta,
            "form": form,
            "consents": revocable,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/rbac/consentrecord/revoke.html", context)


# --- audit log -----------------------------------------------------------------------------


class PublicIdFilter(admin.SimpleListFilter):
    """Filter by a user's public id from the URL (``?patient=usr_…``); linked from the user
    page. Listing every user as a filter choice would not scale, so it shows only when set."""

    field = ""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class PatientFilter(PublicIdFilter):
    title = _("patient")
    parameter_name = "patient"
    field = "patient__public_id"


class ActorFilter(PublicIdFilter):
    title = _("actor")
    parameter_name = "actor"
    field = "actor_ref"


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    # Events about a clinic's patient without a clinic of their own: that clinic's too. The
    # log itself holds ids and actions, no health information: reading it is not audited.
    person_field = "patient"
    person_when_no_clinic = True
    list_display = (
        "occurred_at",
        "action",
        "actor_kind",
        "actor_label",
        "actor_ref",
        "patient",
        "clinic",
        "target_type",
        "target_ref",
        "ip_address",
    )
    list_select_related = ("patient", "clinic")
    list_filter = (
        PatientFilter,
        ActorFilter,
        "actor_kind",
        "action",
        "target_type",
        "clinic",
    )
    date_hierarchy = "occurred_at"
    search_fields = ("=actor_ref", "=target_ref", "=partner_ref", "=patient__public_id", "action")
    search_help_text = _("Exact actor/target/patient id, action, or a patient's exact phone/email.")
    fields = (
        "public_id",
        "occurred_at",
        "action",
        "actor_kind",
        "actor_ref",
        "actor_label",
        "actor_user",
        "partner_ref",
        "target_type",
        "target_ref",
        "patient",
        "clinic",
        "ip_address",
        "user_agent",
        "reason",
        "metadata",
    )
    readonly_fields = fields
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, dupes = super().get_search_results(request, queryset, search_term)
        return _with_contact_search(queryset, results, search_term, "patient__"), dupes

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
