"""Replies across languages: LibreTranslate over HTTP (faked with respx), none by default."""

import httpx
import pytest
import respx

from support.models import TicketComment
from support.services.comments import ticket_comment_add

pytestmark = pytest.mark.django_db
URL = "http://translate.test"


@pytest.fixture
def libretranslate(settings):
    settings.SUPPORT_TRANSLATION_BACKEND = "libretranslate"
    settings.SUPPORT_TRANSLATION_URL = URL
    settings.SUPPORT_TRANSLATION_API_KEY = "lt-key"


def test_default_backend_stores_no_translation(frozen, new_ticket, make_agent, clinic, actor):
    agent = make_agent(clinic, languages=("en", "es"))
    ticket = new_ticket(language="es")
    comment = ticket_comment_add(
        ticket=ticket,
        body="We refunded you",
        actor=actor,
        author=agent,
        is_agent=True,
        language="en",
    )
    assert comment.translated_body == ""


@respx.mock(assert_all_called=True)
def test_agent_reply_is_translated_for_the_requester(
    respx_mock, libretranslate, frozen, new_ticket, make_agent, clinic, actor, monkeypatch
):
    monkeypatch.setattr(
        "careos.http.SystemResolver.resolve", lambda self, host, port: ["127.0.0.1"]
    )
    route = respx_mock.post(f"{URL}/translate").mock(
        return_value=httpx.Response(200, json={"translatedText": "Le reembolsamos"})
    )
    agent = make_agent(clinic, languages=("en", "es"))
    ticket = new_ticket(language="es")
    comment = ticket_comment_add(
        ticket=ticket,
        body="We refunded you",
        actor=actor,
        author=agent,
        is_agent=True,
        language="en",
    )
    stored = TicketComment.objects.get(pk=comment.pk)
    assert stored.body == "We refunded you"
    assert stored.translated_body == "Le reembolsamos"
    assert stored.translated_language == "es"
    sent = route.calls.last.request
    import json

    assert json.loads(sent.content) == {
        "q": "We refunded you",
        "source": "en",
        "target": "es",
        "format": "text",
        "api_key": "lt-key",
    }


@respx.mock
def test_translation_outage_keeps_the_reply(
    respx_mock, libretranslate, frozen, new_ticket, make_agent, clinic, actor, monkeypatch
):
    monkeypatch.setattr(
        "careos.http.SystemResolver.resolve", lambda self, host, port: ["127.0.0.1"]
    )
    respx_mock.post(f"{URL}/translate").mock(return_value=httpx.Response(503))
    agent = make_agent(clinic, languages=("en",))
    ticket = new_ticket(language="fr")
    comment = ticket_comment_add(
        ticket=ticket, body="Done", actor=actor, author=agent, is_agent=True
    )
    assert comment.body == "Done" and comment.translated_body == ""
