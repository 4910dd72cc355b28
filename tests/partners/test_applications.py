"""The application workflow: each transition, each refused one, the security checks."""

import pytest
from oauth2_provider.models import Application
from standardwebhooks import Webhook

from careos.actors import system_actor
from careos.errors import ConflictError, DomainError
from partners.models import PartnerApplication, PlatformEvent
from partners.services import applications as apps
from partners.services.webhooks import webhook_endpoint_create
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
Status = PartnerApplication.Status


def _draft(**fields) -> PartnerApplication:
    values = {
        "redirect_uris": ["https://app.example.com/callback"],
        "requested_scopes": ["read:leads", "write:leads"],
    } | fields
    return apps.application_create(
        partner=PartnerFactory(), name="Referral app", actor=ACTOR, **values
    )


def _at(status: str) -> PartnerApplication:
    application = _draft()
    PartnerApplication.objects.filter(pk=application.pk).update(status=status)
    application.refresh_from_db()
    return application


def test_happy_path_to_deprecated_creates_the_oauth_client():
    application = apps.application_submit(application=_draft(), actor=ACTOR)
    assert application.status == Status.SUBMITTED
    application = apps.application_start_review(application=application, actor=ACTOR)
    assert application.status == Status.IN_REVIEW
    approved = apps.application_approve(application=application, actor=ACTOR, notes="ok")
    application = approved.application
    assert application.status == Status.APPROVED
    assert approved.client_secret  # confidential client: secret shown once
    oauth_app = Application.objects.get(client_id=approved.client_id)
    assert oauth_app.client_secret != approved.client_secret  # stored hashed
    assert oauth_app.authorization_grant_type == "authorization-code"
    assert oauth_app.redirect_uris == "https://app.example.com/callback"
    assert application.oauth_client.scopes == ["read:leads", "write:leads"]
    assert application.oauth_client.partner == application.partner
    application = apps.application_publish(application=application, actor=ACTOR)
    assert application.status == Status.PUBLISHED
    application = apps.application_deprecate(application=application, actor=ACTOR)
    assert application.status == Status.DEPRECATED


def test_approval_is_announced_to_the_partner_without_the_secret(
    receiver, webhook_settings, django_capture_on_commit_callbacks
):
    application = _at(Status.IN_REVIEW)
    endpoint = webhook_endpoint_create(
        partner=application.partner,
        url=receiver.url("/hook"),
        actor=ACTOR,
        event_types=["partner.application.approved"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        approved = apps.application_approve(application=application, actor=ACTOR)

    event = PlatformEvent.objects.get(event_type__name="partner.application.approved")
    assert event.owner == application.partner
    [request] = receiver.on("/hook")
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["eventId"] == event.public_id
    assert body["data"] == {
        "applicationId": application.public_id,
        "name": "Referral app",
        "status": "approved",
        "clientId": approved.client_id,
    }
    assert approved.client_secret not in request.body.decode()


def test_public_client_gets_no_secret():
    application = _at(Status.IN_REVIEW)
    PartnerApplication.objects.filter(pk=application.pk).update(client_type="public")
    approved = apps.application_approve(application=application, actor=ACTOR)
    assert approved.client_secret is None
    assert Application.objects.get(client_id=approved.client_id).client_type == "public"


def test_reject_from_submitted_and_in_review():
    for status in (Status.SUBMITTED, Status.IN_REVIEW):
        application = apps.application_reject(
            application=_at(status), reason="insecure", actor=ACTOR
        )
        assert (application.status, application.review_notes) == (Status.REJECTED, "insecure")
    with pytest.raises(DomainError):
        apps.application_reject(application=_at(Status.SUBMITTED), reason="", actor=ACTOR)


REFUSED = [
    ("application_submit", [Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED, Status.REJECTED]),
    ("application_start_review", [Status.DRAFT, Status.IN_REVIEW, Status.APPROVED]),
    ("application_approve", [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.PUBLISHED]),
    ("application_reject", [Status.DRAFT, Status.APPROVED, Status.PUBLISHED, Status.REJECTED]),
    ("application_publish", [Status.DRAFT, Status.IN_REVIEW, Status.REJECTED, Status.PUBLISHED]),
    ("application_deprecate", [Status.DRAFT, Status.APPROVED, Status.DEPRECATED]),
]


@pytest.mark.parametrize(
    ("service", "status"),
    [(service, status) for service, statuses in REFUSED for status in statuses],
)
def test_refused_transitions(service, status):
    application = _at(status)
    kwargs = {"reason": "r"} if service == "application_reject" else {}
    with pytest.raises(ConflictError) as caught:
        getattr(apps, service)(application=application, actor=ACTOR, **kwargs)
    assert caught.value.code == "invalid_transition"
    application.refresh_from_db()
    assert application.status == status
    assert not Application.objects.exists()


def test_only_a_draft_can_be_edited():
    application = _at(Status.SUBMITTED)
    with pytest.raises(ConflictError):
        apps.application_update(application=application, actor=ACTOR, name="x")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"redirect_uris": ["http://app.example.com/cb"]}, "redirectUris.0"),
        ({"redirect_uris": ["http://localhost:8000/cb"]}, "redirectUris.0"),
        ({"redirect_uris": []}, "redirectUris"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "redirectUris.0"),
        ({"requested_scopes": ["admin"]}, "requestedScopes"),
        ({"requested_scopes": ["write:connections"]}, "requestedScopes"),
        ({"requested_scopes": ["read:everything"]}, "requestedScopes"),
        ({"requested_scopes": []}, "requestedScopes"),
        ({"grant_type": "client-credentials", "client_type": "public"}, "clientType"),
        ({"webhook_urls": ["http://hooks.example.com/x"]}, "webhookUrls.0"),
    ],
)
def test_submission_security_checks(fields, field):
    application = _draft(**fields)
    with pytest.raises(DomainError) as caught:
        apps.application_submit(application=application, actor=ACTOR)
    assert caught.value.code == "application_invalid"
    assert field in {problem["field"] for problem in caught.value.extra["errors"]}
    application.refresh_from_db()
    assert application.status == Status.DRAFT


def test_loopback_redirect_allowed_in_development(settings):
    settings.DEBUG = True
    application = _draft(redirect_uris=["http://127.0.0.1:8765/cb"])
    assert apps.application_submit(application=application, actor=ACTOR).status == Status.SUBMITTED


def test_enterprise_tier_may_request_connections():
    application = apps.application_create(
        partner=PartnerFactory(tier="enterprise"),
        name="Sync",
        grant_type="client-credentials",
        requested_scopes=["write:connections"],
        actor=ACTOR,
    )
    assert apps.application_submit(application=application, actor=ACTOR).status == Status.SUBMITTED


def test_webhook_urls_go_through_the_ssrf_guard(settings):
    pytest.importorskip("careos.http", reason="the kernel's careos.http is not merged yet")
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    application = _draft(webhook_urls=["https://10.0.0.8/hooks"])
    with pytest.raises(DomainError) as caught:
        apps.application_submit(application=application, actor=ACTOR)
    assert "webhookUrls.0" in {problem["field"] for problem in caught.value.extra["errors"]}
