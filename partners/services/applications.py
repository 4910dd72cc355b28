"""Partner applications: draft → submitted → in review → approved | rejected → published →
deprecated. Submission runs the security checks; approval creates the OAuth client and tells the
partner (``partner.application.approved``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from partners.models import Partner, PartnerApplication, PartnerOAuthClient
from partners.scopes import (
    scopes_beyond_tier,
    scopes_for_tier,
    scopes_grant_check,
    unknown_scopes,
)
from partners.services.events import publish_event
from rbac.models import User
from rbac.services import audit_record

Status = PartnerApplication.Status
EDITABLE_FIELDS = (
    "name",
    "description",
    "client_type",
    "grant_type",
    "redirect_uris",
    "requested_scopes",
    "webhook_urls",
)
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class InvalidApplicationTransition(ConflictError):
    code = "invalid_transition"


class ApplicationValidationError(DomainError):
    code = "application_invalid"
    status = 400  # documented on every operation (careos.api.schema); 422 is not
    title = "The application does not pass the security checks"


@dataclass(frozen=True)
class ApprovedApplication:
    application: PartnerApplication
    client_id: str
    client_secret: str | None  # confidential clients only; shown once


def _audit(
    *, actor: Actor | User, action: str, application: PartnerApplication, **kwargs: Any
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="partner_application",
        target_ref=application.public_id,
        metadata={"partner": application.partner.public_id, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def _locked(application: PartnerApplication, *allowed: str, to: str) -> PartnerApplication:
    application = (
        PartnerApplication.objects.select_for_update()
        .select_related("partner")
        .get(pk=application.pk)
    )
    if application.status not in allowed:
        raise InvalidApplicationTransition(
            f"A {application.status} application cannot become {to}.",
            extra={"currentStatus": application.status},
        )
    return application


def _requested_scopes_check(partner: Partner, scopes: Iterable[str], *, actor: object) -> None:
    # A partner credential asks only for scopes it holds; scopes beyond the tier (or unknown)
    # may sit in a draft and are refused at submission with the other security checks.
    scopes_grant_check(set(scopes) & scopes_for_tier(partner.tier), actor=actor)


@transaction.atomic
def application_create(
    *, partner: Partner, name: str, actor: Actor | User, **fields: Any
) -> PartnerApplication:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _requested_scopes_check(partner, fields.get("requested_scopes", ()), actor=actor)
    application = PartnerApplication.objects.create(partner=partner, name=name, **fields)
    _audit(actor=actor, action="partner.application.created", application=application)
    return application


@transaction.atomic
def application_update(
    *, application: PartnerApplication, actor: Actor | User, **changes: Any
) -> PartnerApplication:
    """Only a draft can be changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"Not updatable: {', '.join(sorted(unknown))}.")
    _requested_scopes_check(application.partner, changes.get("requested_scopes", ()), actor=actor)
    application = _locked(application, Status.DRAFT, to="changed")
    for field, value in changes.items():
        setattr(application, field, value)
    application.save(update_fields=[*changes, "updated_at"])
    _audit(
        actor=actor,
        action="partner.application.updated",
        application=application,
        metadata={"fields": sorted(changes)},
    )
    return application


def _redirect_uri_problem(uri: str) -> str | None:
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        return "is not an absolute URL"
    if parts.fragment:
        return "must not have a fragment"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return None if settings.DEBUG else "loopback http is allowed only in development"
    return "must use https"


def application_security_problems(application: PartnerApplication) -> list[dict[str, str]]:
    """Everything wrong with ``application`` for submission (empty when it passes)."""
    problems: list[dict[str, str]] = []
    grant = application.grant_type
    if grant == PartnerApplication.GrantType.AUTHORIZATION_CODE and not application.redirect_uris:
        problems.append({"field": "redirectUris", "message": "At least one is required."})
    if (
        grant == PartnerApplication.GrantType.CLIENT_CREDENTIALS
        and application.client_type == PartnerApplication.ClientType.PUBLIC
    ):
        problems.append(
            {"field": "clientType", "message": "Client credentials need a confidential client."}
        )
    for index, uri in enumerate(application.redirect_uris):
        problem = _redirect_uri_problem(uri)
        if problem:
            problems.append({"field": f"redirectUris.{index}", "message": f"{uri} {problem}."})
    if not application.requested_scopes:
        problems.append({"field": "requestedScopes", "message": "At least one is required."})
    unknown = unknown_scopes(application.requested_scopes)
    beyond = [
        s
        for s in scopes_beyond_tier(application.requested_scopes, tier=application.partner.tier)
        if s not in unknown
    ]
    if unknown:
        problems.append(
            {"field": "requestedScopes", "message": f"Unknown scopes: {', '.join(unknown)}."}
        )
    if beyond:
        problems.append(
            {
                "field": "requestedScopes",
                "message": f"Not allowed for the {application.partner.tier} tier: "
                f"{', '.join(beyond)}.",
            }
        )
    problems.extend(_webhook_url_problems(application.webhook_urls))
    return problems


def _webhook_url_problems(urls: list[str]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    https_urls: list[tuple[int, str]] = []
    for index, url in enumerate(urls):
        if urlsplit(url).scheme != "https":
            problems.append({"field": f"webhookUrls.{index}", "message": f"{url} must use https."})
        else:
            https_urls.append((index, url))
    if not https_urls:
        return problems
    # The kernel's SSRF guard (imported late: careos.http lands on main from another branch).
    from careos.http import UnsafeURLError, validate_public_url

    for index, url in https_urls:
        try:
            validate_public_url(url)
        except UnsafeURLError as exc:
            problems.append({"field": f"webhookUrls.{index}", "message": f"{url}: {exc}"})
    return problems


@transaction.atomic
def application_submit(
    *, application: PartnerApplication, actor: Actor | User
) -> PartnerApplication:
    application = _locked(application, Status.DRAFT, to=Status.SUBMITTED)
    problems = application_security_problems(application)
    if problems:
        raise ApplicationValidationError(
            "The application does not pass the security checks.", extra={"errors": problems}
        )
    # Whoever submits asks for the client's scopes: a partner credential only for its own.
    scopes_grant_check(application.requested_scopes, actor=actor)
    application.status = Status.SUBMITTED
    application.submitted_at = timezone.now()
    application.save(update_fields=["status", "submitted_at", "updated_at"])
    _audit(actor=actor, action="partner.application.submitted", application=application)
    return application


@transaction.atomic
def application_start_review(
    *, application: PartnerApplication, actor: Actor | User
) -> PartnerApplication:
    application = _locked(application, Status.SUBMITTED, to=Status.IN_REVIEW)
    application.status = Status.IN_REVIEW
    application.save(update_fields=["status", "updated_at"])
    _audit(actor=actor, action="partner.application.review_started", application=application)
    return application


def _actor_ref(actor: Actor | User) -> str:
    return actor.public_id if isinstance(actor, User) else actor.ref


def oauth_client_create(
    *, application: PartnerApplication
) -> tuple[PartnerOAuthClient, str | None]:
    """The django-oauth-toolkit client for ``application`` (caller holds the transaction)."""
    confidential = application.client_type == PartnerApplication.ClientType.CONFIDENTIAL
    secret = generate_client_secret() if confidential else ""
    oauth_app = Application.objects.create(
        name=f"{application.partner.slug}: {application.name}"[:255],
        client_type=(
            Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC
        ),
        authorization_grant_type=application.grant_type,
        redirect_uris=" ".join(application.redirect_uris),
        client_secret=secret,
        skip_authorization=False,
    )
    client = PartnerOAuthClient.objects.create(
        partner=application.partner,
        application=oauth_app,
        scopes=sorted(set(application.requested_scopes)),
    )
    return client, (secret or None)


@transaction.atomic
def application_approve(
    *, application: PartnerApplication, actor: Actor | User, notes: str = ""
) -> ApprovedApplication:
    application = _locked(application, Status.IN_REVIEW, to=Status.APPROVED)
    # The tier may have changed since submission: check again.
    problems = application_security_problems(application)
    if problems:
        raise ApplicationValidationError(
            "The application no longer passes the security checks.", extra={"errors": problems}
        )
    client, secret = oauth_client_create(application=application)
    application.status = Status.APPROVED
    application.reviewed_at = timezone.now()
    application.reviewed_by = _actor_ref(actor)
    application.review_notes = notes
    application.oauth_client = client
    application.save(
        update_fields=[
            "status",
            "reviewed_at",
            "reviewed_by",
            "review_notes",
            "oauth_client",
            "updated_at",
        ]
    )
    _audit(
        actor=actor,
        action="partner.application.approved",
        application=application,
        metadata={"clientId": client.application.client_id},
    )
    publish_event(
        event_type="partner.application.approved",
        owner=application.partner,
        payload={
            "applicationId": application.public_id,
            "name": application.name,
            "status": application.status,
            "clientId": client.application.client_id,
        },
        occurred_at=application.reviewed_at,
    )
    return ApprovedApplication(
        application=application, client_id=client.application.client_id, client_secret=secret
    )


@transaction.atomic
def application_reject(
    *, application: PartnerApplication, reason: str, actor: Actor | User
) -> PartnerApplication:
    if not reason.strip():
        raise DomainError("A reason is required to reject.", code="reason_required")
    application = _locked(application, Status.SUBMITTED, Status.IN_REVIEW, to=Status.REJECTED)
    application.status = Status.REJECTED
    application.reviewed_at = timezone.now()
    application.reviewed_by = _actor_ref(actor)
    application.review_notes = reason
    application.save(
        update_fields=["status", "reviewed_at", "reviewed_by", "review_notes", "updated_at"]
    )
    _audit(
        actor=actor, action="partner.application.rejected", application=application, reason=reason
    )
    return application


@transaction.atomic
def application_publish(
    *, application: PartnerApplication, actor: Actor | User
) -> PartnerApplication:
    application = _locked(application, Status.APPROVED, to=Status.PUBLISHED)
    application.status = Status.PUBLISHED
    application.published_at = timezone.now()
    application.save(update_fields=["status", "published_at", "updated_at"])
    _audit(actor=actor, action="partner.application.published", application=application)
    return application


@transaction.atomic
def application_deprecate(
    *, application: PartnerApplication, actor: Actor | User, reason: str = ""
) -> PartnerApplication:
    application = _locked(application, Status.PUBLISHED, to=Status.DEPRECATED)
    application.status = Status.DEPRECATED
    application.deprecated_at = timezone.now()
    application.save(update_fields=["status", "deprecated_at", "updated_at"])
    _audit(
        actor=actor, action="partner.application.deprecated", application=application, reason=reason
    )
    return application


@transaction.atomic
def oauth_client_reset_secret(*, client: PartnerOAuthClient, actor: Actor | User) -> str:
    """A new secret for a confidential client, returned once; the old one stops working.
    A partner credential may reset only a client whose scopes it holds (the secret mints
    tokens with them)."""
    client = PartnerOAuthClient.objects.select_related("application").get(pk=client.pk)
    scopes_grant_check(client.scopes, actor=actor)
    if client.application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise ConflictError("A public client has no secret.", code="public_client")
    if client.revoked_at is not None:
        raise ConflictError("This client is revoked.")
    secret = generate_client_secret()
    client.application.client_secret = secret
    client.application.save(update_fields=["client_secret", "updated"])
    audit_record(
        actor=actor,
        action="partner.oauth_client.secret_reset",
        target_type="oauth_client",
        target_ref=client.application.client_id,
        metadata={"partner": client.partner.public_id},
    )
    return secret
