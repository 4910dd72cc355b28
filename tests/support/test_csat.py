"""CSAT: survey link on solve, one rating per ticket, averages per agent, queue, clinic."""

import pytest
from django.core import signing

from engagement.models import Message
from support.models import CsatResponse, Ticket
from support.permissions import Desks
from support.selectors import csat_report
from support.services.csat import csat_token
from support.services.tickets import ticket_status_change
from tests.clients import SignedInAPIClient

pytestmark = pytest.mark.django_db
CSAT = "/api/v1/support/csat"


@pytest.fixture
def solved(frozen, new_ticket, make_agent, clinic, actor) -> Ticket:
    agent = make_agent(clinic)
    ticket = new_ticket()
    assert ticket.assignee == agent
    return ticket_status_change(ticket=ticket, status=Ticket.Status.SOLVED, actor=actor)


def test_solve_sends_a_signed_survey_link(solved: Ticket) -> None:
    message = Message.objects.get(template_key="support_ticket_solved")
    assert message.recipient == solved.requester
    token = csat_token(ticket=solved)
    assert token in message.body


def test_rating_by_link_once(solved: Ticket) -> None:
    client = SignedInAPIClient()
    body = {"token": csat_token(ticket=solved), "rating": 4, "comment": "Quick and kind"}
    first = client.post(CSAT, body, format="json")
    assert first.status_code == 201
    assert first.json() == {
        "ticketId": solved.public_id,
        "rating": 4,
        "comment": "Quick and kind",
        "createdAt": first.json()["createdAt"],
    }
    again = client.post(CSAT, {**body, "rating": 1}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    response = CsatResponse.objects.get()
    assert (response.rating, response.agent, response.queue) == (4, solved.assignee, solved.queue)


def test_bad_tokens_and_ratings(solved: Ticket) -> None:
    client = SignedInAPIClient()
    forged = signing.dumps({"t": solved.public_id}, salt="other")
    assert client.post(CSAT, {"token": forged, "rating": 5}, format="json").status_code == 404
    out_of_range = client.post(
        CSAT, {"token": csat_token(ticket=solved), "rating": 6}, format="json"
    )
    assert out_of_range.status_code == 400
    assert out_of_range.json()["errors"][0]["field"] == "rating"


def test_unsolved_ticket_cannot_be_rated(frozen, new_ticket) -> None:
    ticket = new_ticket()
    response = SignedInAPIClient().post(
        CSAT, {"token": csat_token(ticket=ticket), "rating": 5}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "ticket_not_solved"


def test_requester_rates_through_the_api_once(solved: Ticket, make_user) -> None:
    client = SignedInAPIClient()
    client.force_login(solved.requester)
    url = f"/api/v1/support/tickets/{solved.public_id}/rating"
    assert client.post(url, {"rating": 5}, format="json").status_code == 201
    assert client.post(url, {"rating": 5}, format="json").status_code == 409


def test_averages_per_agent_queue_and_clinic(frozen, new_ticket, make_agent, clinic, actor) -> None:
    from support.services.csat import ticket_rate

    first = make_agent(clinic)
    second = make_agent(clinic)
    ratings = {}
    for rating, agent in ((5, first), (3, second), (4, first)):
        ticket = new_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
        ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.SOLVED, actor=actor)
        ticket_rate(ticket=ticket, rating=rating, actor=actor)
        ratings.setdefault(agent, []).append(rating)
    report = csat_report()
    assert report["clinics"] == [
        {"id": clinic.public_id, "name": clinic.name, "average": 4.0, "responses": 3}
    ]
    by_agent = {row["id"]: (row["average"], row["responses"]) for row in report["agents"]}
    for agent, values in ratings.items():
        assert by_agent[agent.public_id] == (round(sum(values) / len(values), 2), len(values))
    assert sum(row["responses"] for row in report["queues"]) == 3
    assert csat_report(desks=Desks(clinic_ids=frozenset(), platform=False))["clinics"] == []
