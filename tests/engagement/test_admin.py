import pytest
from django.test import Client

from careos.actors import system_actor
from engagement.models import Campaign, Message, MessageTemplate
from engagement.services.campaigns import campaign_create
from engagement.services.messages import message_send
from rbac.models import User
from tests.clients import SignedInClient

ACTOR = system_actor("tests")


@pytest.fixture
def admin_client(db) -> Client:
    user = User.objects.create_superuser(username="root", password="x")
    client = SignedInClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_changelists_load_without_a_query_per_row(
    admin_client, clinic, make_patient, django_assert_max_num_queries
):
    for n in range(5):
        message_send(
            channel="sms",
            recipient=make_patient(),
            purpose="reminder",
            template_key="reminder",
            context={"title": "x"},
            dedupe_key=str(n),
            actor=ACTOR,
            clinic=clinic,
        )
    for name in ("message", "messagetemplate", "campaign", "optout", "reminder", "patienttask"):
        with django_assert_max_num_queries(15):
            response = admin_client.get(f"/admin/engagement/{name}/")
        assert response.status_code == 200, name
    response = admin_client.get(f"/admin/engagement/message/{Message.objects.first().pk}/change/")
    assert response.status_code == 200
    assert b"Reminder: x" not in response.content  # content is PHI: not shown


@pytest.mark.django_db
def test_template_change_page_shows_preview(admin_client):
    template = MessageTemplate.objects.get(key="welcome_from_referral", language="fr")
    response = admin_client.get(f"/admin/engagement/messagetemplate/{template.pk}/change/")
    assert response.status_code == 200
    assert "[partner_name] vous a mis en relation" in response.content.decode()


@pytest.mark.django_db
def test_template_admin_refuses_undeclared_variables(admin_client):
    response = admin_client.post(
        "/admin/engagement/messagetemplate/add/",
        {"key": "x", "language": "en", "variables": '["a"]', "body": "{{ b }}", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Undeclared variables: b" in response.content.decode()
    assert not MessageTemplate.objects.filter(key="x").exists()


@pytest.mark.django_db
def test_launch_and_cancel_actions(admin_client, clinic):
    campaign = campaign_create(
        clinic=clinic, name="Flu", channel="sms", template_key="wellness_campaign", actor=ACTOR
    )
    admin_client.post(
        "/admin/engagement/campaign/",
        {"action": "launch", "_selected_action": [campaign.pk]},
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING  # batches run after commit
    draft = campaign_create(
        clinic=clinic, name="Later", channel="sms", template_key="wellness_campaign", actor=ACTOR
    )
    admin_client.post(
        "/admin/engagement/campaign/", {"action": "cancel", "_selected_action": [draft.pk]}
    )
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.CANCELLED
    page = admin_client.get(f"/admin/engagement/campaign/{campaign.pk}/change/")
    assert b"task_completions" in page.content
