"""The clinic console's one scoping and PHI-audit mechanism: every admin goes through it.

* ``ConsoleSite`` (the default admin site, ``rbac.apps.ConsoleAdminConfig``) opens for platform
  staff and for clinic staff (``rbac.scoping``). Every ``ModelAdmin`` registered on it that
  is not a ``ClinicScopedAdmin`` is made platform-only at registration (Django's own, the OAuth
  and beat admins, partners' tables, and any admin that forgets to declare a scope).
* ``ClinicScopedAdmin`` takes permissions from clinic roles, not from Django's user/group
  permissions: a staff member sees the rows of the clinics where a role grants the model's
  ``view``/``change`` permission (changelist, change view, search, autocomplete, filters'
  choices of foreign keys, actions), and may change, add or delete only where a role grants
  that. Another clinic's object is a 404. Platform staff see every row and keep Django's
  permissions. Declarations (class attributes, no code):

  - ``clinic_field``: path to the row's clinic (``"pk"`` for clinics, ``None`` when rows
    belong to clinics only through a person);
  - ``person_field``: path to the user the row is about; with ``person_when_no_clinic`` a
    row without a clinic is visible to the clinics of that person;
  - ``shared = True``: reference data with no clinic and no person (message templates): every
    holder of the permission in some clinic sees all rows;
  - ``phi_patient``: path to the patient whose health information the page shows (``SELF``
    for users): change views and changelists note the patients shown (``careos.phi``), and
    ``rbac.middleware`` writes one audit event per request;
  - ``phi_fields``: fields shown only to holders of ``rbac.view_phi`` in the row's clinic (a
    per-clinic role permission); the change view is audited when they are shown.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.filters import RelatedOnlyFieldListFilter
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import AdminSite
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_permission_codename
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from careos.phi import SELF, phi_shown
from rbac.scoping import console_clinic_ids, is_platform_staff, rows_in_clinics
from rbac.selectors import clinic_permissions

VIEW_PHI = "rbac.view_phi"
_NOT_YOUR_CLINIC = _("Choose a clinic where your role allows this.")
_STANDARD = ("view", "add", "change", "delete")


def _perm(opts: Any, action: str) -> str:
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def clinics_with(request: HttpRequest, permissions: Iterable[str]) -> list[int]:
    """Clinics where the request's user holds any of ``permissions`` through a staff role."""
    user = request.user
    staff_clinics = console_clinic_ids(user)
    if not staff_clinics:
        return []
    wanted = set(permissions)
    return sorted(
        clinic_id
        for clinic_id, granted in clinic_permissions(user).items()  # type: ignore[arg-type]
        if clinic_id in staff_clinics and wanted & granted
    )


class ClinicScopedAdmin(admin.ModelAdmin):
    clinic_field: str | None = "clinic"
    person_field: str | None = None
    person_when_no_clinic: bool = False
    shared: bool = False
    phi_patient: str | None = None
    phi_fields: tuple[str, ...] = ()

    # --- scoping ---------------------------------------------------------------------------

    def scope_rows(self, queryset: QuerySet, clinic_ids: list[int]) -> QuerySet:
        if self.shared:
            return queryset if clinic_ids else queryset.none()
        return rows_in_clinics(
            queryset,
            clinic_ids,
            clinic_field=self.clinic_field,
            person_field=self.person_field,
            person_when_no_clinic=self.person_when_no_clinic,
        )

    def _clinics_for(self, request: HttpRequest, actions: Iterable[str]) -> list[int]:
        return clinics_with(request, [_perm(self.opts, action) for action in actions])

    def _obj_in(self, request: HttpRequest, obj: Model, clinic_ids: list[int]) -> bool:
        if not clinic_ids:
            return False
        cache: dict = request.__dict__.setdefault("_console_obj_in", {})
        key = (self.opts.label, obj.pk, tuple(clinic_ids))
        if key not in cache:
            rows = self.model._default_manager.filter(pk=obj.pk)
            cache[key] = self.scope_rows(rows, clinic_ids).exists()
        return cache[key]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if self.phi_patient and "__" in self.phi_patient:
            # The changelist adds list_select_related only to a queryset without any: keep it.
            listed = self.list_select_related
            extra = listed if isinstance(listed, list | tuple) else ()
            queryset = queryset.select_related(self.phi_patient.rsplit("__", 1)[0], *extra)
        if is_platform_staff(request.user):
            return queryset
        return self.scope_rows(queryset, self._clinics_for(request, ("view", "change")))

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        """Not found in the staff member's clinics: a 404, never a page saying it exists."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    # --- permissions from clinic roles ------------------------------------------------------

    def _allows(self, request: HttpRequest, actions: tuple[str, ...], obj: Any) -> bool:
        user = request.user
        if is_platform_staff(user):  # see everything; change what Django permissions allow
            return "view" in actions or any(user.has_perm(_perm(self.opts, a)) for a in actions)
        clinic_ids = self._clinics_for(request, actions)
        if obj is None:
            return bool(clinic_ids)
        return self._obj_in(request, obj, clinic_ids)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allows(request, _STANDARD, None)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("view", "change"), obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allows(request, ("add",), None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("change",), obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("delete",), obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """A foreign key offers only what the related model's admin shows this user."""
        related = self.admin_site._registry.get(db_field.related_model)
        if (
            isinstance(related, ClinicScopedAdmin)
            and "queryset" not in kwargs
            and not is_platform_staff(request.user)
        ):
            kwargs["queryset"] = related.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        """A row saved by clinic staff stays in a clinic where they may add (or change) it."""
        form = super().get_form(request, obj, change=change, **kwargs)
        field = self.clinic_field
        if is_platform_staff(request.user) or not field or field == "pk" or "__" in field:
            return form
        allowed = set(self._clinics_for(request, ("change",) if obj is not None else ("add",)))

        class ClinicScopedForm(form):  # type: ignore[valid-type,misc]
            def clean(self) -> Any:
                data = super().clean() or self.cleaned_data
                clinic_id = getattr(data.get(field), "pk", None) if field in data else None
                if clinic_id is None:
                    clinic_id = getattr(self.instance, f"{field}_id", None)
                if clinic_id is not None and clinic_id not in allowed:
                    self.add_error(field if field in self.fields else None, _NOT_YOUR_CLINIC)
                return data

        return ClinicScopedForm

    def get_list_filter(self, request: HttpRequest) -> Any:
        """Foreign-key filters offer only the related rows this user's rows point to."""
        filters = super().get_list_filter(request)
        if is_platform_staff(request.user):
            return filters
        scoped = []
        for entry in filters:
            if isinstance(entry, str):
                try:
                    field = get_fields_from_path(self.model, entry)[-1]
                except FieldDoesNotExist:
                    field = None
                if field is not None and field.is_relation:
                    entry = (entry, RelatedOnlyFieldListFilter)
            scoped.append(entry)
        return scoped

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> Any:
        """An action applies only to rows of the clinics where the user may do what it does:
        ``change`` unless the action declares otherwise (``delete`` for deleting)."""
        if not is_platform_staff(request.user):
            found = self.get_action(request.POST.get("action", ""))
            declared = getattr(found[0], "allowed_permissions", ()) if found else ()
            needed = tuple(p for p in declared if p in _STANDARD) or ("change",)
            queryset = self.scope_rows(queryset, self._clinics_for(request, needed))
        return super().response_action(request, queryset)

    # --- PHI: shown to view_phi holders, every view audited ---------------------------------

    def phi_visible(self, request: HttpRequest, obj: Any) -> bool:
        """Whether the user holds ``rbac.view_phi`` in the clinic of ``obj``."""
        user = request.user
        if is_platform_staff(user):
            return bool(user.has_perm(VIEW_PHI))
        return obj is not None and self._obj_in(request, obj, clinics_with(request, [VIEW_PHI]))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if not self.phi_fields or obj is None or self.phi_visible(request, obj):
            return fieldsets
        hidden = set(self.phi_fields)
        kept = []
        for name, options in fieldsets:
            fields = [f for f in options.get("fields", ()) if f not in hidden]
            if fields:
                kept.append((name, {**options, "fields": fields}))
        return kept

    def _note_phi(self, request: HttpRequest, objects: Iterable[Any], via: str) -> None:
        if self.phi_patient:
            clinic_path = self.clinic_field if self.clinic_field != "pk" else None
            phi_shown(objects, patient_path=self.phi_patient, clinic_path=clinic_path, via=via)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (getattr(response, "context_data", None) or {}).get("original")
        shown = request.method == "GET" and response.status_code == 200 and original is not None
        if shown and (not self.phi_fields or self.phi_visible(request, original)):
            self._note_phi(request, [original], "admin change view")
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            self._note_phi(request, changelist.result_list, "admin changelist")
        return response


class ClinicScopedInline(admin.options.InlineModelAdmin):
    """Inline rows of a scoped parent: permissions from the roles of the parent's clinic."""

    def _allows(self, request: HttpRequest, actions: tuple[str, ...], obj: Any) -> bool:
        user = request.user
        if is_platform_staff(user):
            return "view" in actions or any(user.has_perm(_perm(self.opts, a)) for a in actions)
        parent = self.admin_site._registry.get(self.parent_model)
        if not isinstance(parent, ClinicScopedAdmin):
            return False
        clinic_ids = clinics_with(request, [_perm(self.opts, action) for action in actions])
        if obj is None:
            return bool(clinic_ids)
        return parent._obj_in(request, obj, clinic_ids)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("view", "change"), obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("add",), obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("change",), obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, ("delete",), obj)


class PlatformOnlyAdmin(admin.ModelAdmin):
    """Mixed into every admin that declares no clinic scope: platform staff only, with their
    Django permissions."""

    def _platform(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._platform(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._platform(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._platform(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._platform(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._platform(request) and super().has_delete_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if self._platform(request) else queryset.none()

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


def may_open_console(user: Any) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return is_platform_staff(user) or bool(console_clinic_ids(user))


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """Signs in platform staff and clinic staff (``is_staff`` alone opens nothing)."""

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not may_open_console(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ConsoleSite(AdminSite):
    """The default admin site: opens for platform staff and clinic staff; every registered
    admin is clinic-scoped or platform-only."""

    login_form = ConsoleAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_open_console(request.user)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ClinicScopedAdmin | PlatformOnlyAdmin):
            admin_class = type(admin_class.__name__, (PlatformOnlyAdmin, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)


__all__ = [
    "SELF",
    "ClinicScopedAdmin",
    "ClinicScopedInline",
    "ConsoleSite",
    "PlatformOnlyAdmin",
    "clinics_with",
]
