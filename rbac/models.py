from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careos.crypto import blind_index
from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel

PHONE_INDEX_PURPOSE = "user.phone"
EMAIL_INDEX_PURPOSE = "user.email"


def phone_blind_index(phone_e164: str) -> str:
    return blind_index(phone_e164, purpose=PHONE_INDEX_PURPOSE)


def email_blind_index(email: str) -> str:
    return blind_index(email.strip().lower(), purpose=EMAIL_INDEX_PURPOSE)


class User(AbstractUser):
    class Kind(models.TextChoices):
        PATIENT = "patient", _("Patient")
        SPECIALIST = "specialist", _("Specialist")
        STAFF = "staff", _("Staff")

    public_id = PublicIdField(prefix="usr")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STAFF)
    # PHI, encrypted at rest; the *_index columns are keyed blind indexes for exact lookup.
    first_name = EncryptedTextField(_("first name"), blank=True)
    last_name = EncryptedTextField(_("last name"), blank=True)
    email = EncryptedTextField(_("email address"), blank=True)
    email_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone = EncryptedTextField(_("phone (E.164)"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    date_of_birth = EncryptedTextField(_("date of birth"), blank=True)
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    region = models.CharField(max_length=32, blank=True, help_text=_("Region or state code."))
    timezone = models.CharField(max_length=64, default="UTC")
    # Referral source (lead-ingest-from-partners.md): the first referral wins.
    source = models.CharField(max_length=64, blank=True)
    source_lead_id = models.CharField(max_length=128, blank=True)
    location_state = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["kind", "region"])]
        permissions = [("view_phi", _("Can view patients' protected health information"))]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Keep the blind indexes in step with the encrypted values they index.
        self.phone_index = phone_blind_index(self.phone) if self.phone else ""
        self.email_index = email_blind_index(self.email) if self.email else ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            extra = {"phone": "phone_index", "email": "email_index"}
            kwargs["update_fields"] = set(update_fields) | {
                extra[f] for f in update_fields if f in extra
            }
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.username or self.public_id


class Clinic(TimeStampedModel):
    public_id = PublicIdField(prefix="cln")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    languages = models.JSONField(default=list, blank=True, help_text=_("Language codes served."))
    regions = models.JSONField(default=list, blank=True, help_text=_("Region/state codes served."))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(TimeStampedModel):
    """A named set of permissions. ``clinic`` is empty for the system templates."""

    public_id = PublicIdField(prefix="rol")
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="roles"
    )
    template = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    slug = models.SlugField()
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, related_name="careos_roles")

    class Meta:
        ordering = ["clinic_id", "name"]
        permissions = [("manage_roles", _("Can manage clinic roles and memberships"))]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "slug"], name="role_unique_slug_per_clinic"),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(clinic__isnull=True),
                name="role_unique_template_slug",
            ),
        ]

    @property
    def is_template(self) -> bool:
        return self.clinic_id is None

    def __str__(self) -> str:
        return f"{self.name} ({self.clinic or 'template'})"


class Membership(TimeStampedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="membership_unique_per_clinic")
        ]
        indexes = [models.Index(fields=["user", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} as {self.role.slug}"


class ConsentRecord(TimeStampedModel):
    """One ledger for every consent. Revocation changes status; nothing is ever deleted."""

    class Type(models.TextChoices):
        PARTNER_REFERRAL = "partner_referral", _("Partner referral")
        DATA_SHARING = "data_sharing", _("Data sharing")
        MARKETING = "marketing", _("Marketing messages")
        TREATMENT = "treatment", _("Treatment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        REVOKED = "revoked", _("Revoked")

    public_id = PublicIdField(prefix="cns")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents"
    )
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )
    consent_type = models.CharField(max_length=32, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_platform = models.CharField(max_length=64, blank=True)
    scope = models.JSONField(default=dict, blank=True, help_text=_("What the consent covers."))
    text = models.TextField(help_text=_("The exact consent text shown to the person."))
    language = models.CharField(max_length=8, default="en")
    method = models.CharField(max_length=32, blank=True, help_text=_("web_form, sms, verbal…"))
    given_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.CharField(max_length=80, help_text=_("Actor reference."))
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=80, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=80, blank=True)
    revocation_reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        permissions = [("revoke_consent", _("Can revoke consent records"))]
        indexes = [models.Index(fields=["patient", "consent_type", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "confirmed", "revoked"]),
                name="consent_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="confirmed") | models.Q(confirmed_at__isnull=False),
                name="consent_confirmed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="revoked") | models.Q(revoked_at__isnull=False),
                name="consent_revoked_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.consent_type} ({self.status})"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """Append-only: who did or read what, on which record, for which patient, from where, why.

    The model and its queryset refuse updates and deletes; database triggers (PostgreSQL and
    SQLite, migration ``0003``) refuse UPDATE, DELETE and (PostgreSQL) TRUNCATE too, and on
    PostgreSQL the app's database role may only INSERT and SELECT (rbac/db_roles.py). Each event
    is a link of a keyed hash chain (rbac/audit_chain.py, ``manage.py audit_verify``).
    """

    public_id = PublicIdField(prefix="aud")
    # Set before the row is written (not auto_now_add): the chain's hash covers it.
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16)
    actor_ref = models.CharField(max_length=80, db_index=True)
    actor_label = models.CharField(max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events_as_actor",
    )
    partner_ref = models.CharField(max_length=40, blank=True, db_index=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_ref = models.CharField(max_length=80, blank=True, db_index=True)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events_as_patient",
    )
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Its link in the hash chain (rbac/audit_chain.py): which chain, its number there, the
    # previous event's hash ("" for the first) and its own.
    chain = models.CharField(max_length=64, editable=False)
    chain_seq = models.PositiveBigIntegerField(editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["patient", "-occurred_at"]),
            models.Index(fields=["clinic", "-occurred_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["chain", "chain_seq"], name="rbac_audit_chain_seq")
        ]
        permissions = [("view_audit_log", _("Can view the clinic's audit log"))]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_ref} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")
