"""A partner contact's phone is a real international number, stored in E.164 (validated with
``phonenumbers``): numbers such as ``-1`` or ``1e+308`` are refused per field, on every path."""

import pytest
from django.core.exceptions import ValidationError

from careos.actors import system_actor
from partners.models import PartnerContact
from partners.services.profile import InvalidPhoneError, contact_create

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/partners/me/contacts"
BAD = ["-1", "1e+308", "+1", "12345", "+1 415 555", "phone", "+999 1234567"]


@pytest.mark.parametrize("phone", [*BAD, -1, 1e308])
def test_the_api_refuses_what_is_not_a_phone_number(partner_api_client, phone):
    client = partner_api_client()
    body = {"name": "Ann", "email": "ann@example.com", "phone": phone}
    response = client.post(CONTACTS, body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert "phone" in {error["field"] for error in response.json()["errors"]}
    assert not PartnerContact.objects.exists()


def test_a_valid_number_is_kept_in_e164(partner_api_client):
    client = partner_api_client()
    body = {"name": "Ann", "email": "ann@example.com", "phone": "+1 (415) 555-0122"}
    created = client.post(CONTACTS, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["phone"] == "+14155550122"
    contact_id = created.json()["id"]

    refused = client.patch(f"{CONTACTS}/{contact_id}", {"phone": "1e+308"}, format="json")
    assert refused.status_code == 400
    changed = client.patch(f"{CONTACTS}/{contact_id}", {"phone": "+44 20 7946 0958"}, format="json")
    assert changed.json()["phone"] == "+442079460958"
    cleared = client.patch(f"{CONTACTS}/{contact_id}", {"phone": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["phone"] == ""


def test_the_service_and_the_model_refuse_it_too(partner):
    with pytest.raises(InvalidPhoneError):
        contact_create(
            partner=partner, name="A", email="a@example.com", phone="-1", actor=system_actor("t")
        )
    contact = PartnerContact(partner=partner, name="A", email="a@example.com", phone="1e+308")
    with pytest.raises(ValidationError) as raised:
        contact.full_clean()
    assert "phone" in raised.value.message_dict


def test_the_field_error_has_its_own_code(partner_api_client):
    body = {"name": "Ann", "email": "ann@example.com", "phone": "-1"}
    response = partner_api_client().post(CONTACTS, body, format="json")
    [error] = [e for e in response.json()["errors"] if e["field"] == "phone"]
    assert error["code"] == "invalid_phone"
