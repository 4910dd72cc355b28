import pytest
from django.core.exceptions import ValidationError

from careos.actors import system_actor
from engagement.models import MessageTemplate
from engagement.services.messages import message_send
from engagement.services.templates import (
    TemplateError,
    TemplateMissingError,
    template_preview,
    template_render,
    template_save,
)

ACTOR = system_actor("tests")
CONTEXT = {"first_name": "Ana", "partner_name": "BusinessOS"}


@pytest.mark.django_db
def test_spanish_and_french_rendering():
    es = template_render(key="welcome_from_referral", language="es", context=CONTEXT)
    fr = template_render(key="welcome_from_referral", language="fr", context=CONTEXT)
    assert es.language == "es"
    assert es.body.startswith("¡Bienvenido a CareOS, Ana! BusinessOS te conectó")
    assert fr.language == "fr"
    assert fr.body.startswith("Bienvenue sur CareOS, Ana ! BusinessOS vous a mis en relation")


@pytest.mark.django_db
def test_missing_language_falls_back_to_english():
    rendered = template_render(key="welcome_from_referral", language="de", context=CONTEXT)
    assert rendered.language == "en"
    assert rendered.body.startswith("Welcome to CareOS, Ana!")


@pytest.mark.django_db
def test_inactive_translation_falls_back_to_english():
    MessageTemplate.objects.filter(key="reminder", language="fr").update(is_active=False)
    rendered = template_render(key="reminder", language="fr", context={"title": "Eau"})
    assert (rendered.language, rendered.body) == ("en", "Reminder: Eau")


@pytest.mark.django_db
def test_patient_language_is_used_for_the_message(make_patient):
    patient = make_patient(preferred_language="es")
    message = message_send(
        channel="sms",
        recipient=patient,
        purpose="welcome_from_referral",
        template_key="welcome_from_referral",
        context=CONTEXT,
        dedupe_key="lead_1",
        actor=ACTOR,
    )
    assert message.language == "es"
    assert "BAJA" in message.body


@pytest.mark.django_db
def test_unknown_template_key():
    with pytest.raises(TemplateMissingError):
        template_render(key="nope", language="en", context={})


@pytest.mark.django_db
def test_sandbox_has_no_include_load_or_object_access():
    for text in ("{% include 'x.html' %}", "{% load static %}", "{% extends 'base.html' %}"):
        with pytest.raises(TemplateError):
            template_save(actor=ACTOR, key="bad", language="en", body=text, variables=[])
    with pytest.raises(TemplateError):
        template_save(
            actor=ACTOR, key="bad", language="en", body="{{ user.password }}", variables=[]
        )
    with pytest.raises(TemplateError):
        template_render(key="reminder", language="en", context={"title": {"a": 1}})


@pytest.mark.django_db
def test_undeclared_variable_in_text_is_refused_and_declared_passes():
    with pytest.raises(TemplateError, match="Undeclared variables: secret"):
        template_save(
            actor=ACTOR, key="t", language="en", body="{{ name }} {{ secret }}", variables=["name"]
        )
    with pytest.raises(TemplateError):
        template_save(
            actor=ACTOR,
            key="t",
            language="en",
            body="{% if secret %}x{% endif %}",
            variables=["name"],
        )
    saved = template_save(
        actor=ACTOR,
        key="t",
        language="en",
        body="{% for c in name %}{{ c }}{% endfor %}!",
        variables=["name"],
        html_body="<b>{{ name }}</b>",
    )
    rendered = template_render(key="t", language="en", context={"name": "<Bo>"})
    assert rendered.body == "<Bo>!"  # plain text is not escaped
    assert rendered.html_body == "<b>&lt;Bo&gt;</b>"  # HTML is
    assert saved.public_id.startswith("tpl_")


@pytest.mark.django_db
def test_model_clean_reports_field_errors():
    template = MessageTemplate(key="x", language="en", body="{{ oops }}", variables=["ok"])
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    assert "body" in info.value.message_dict


@pytest.mark.django_db
def test_preview_shows_placeholders():
    template = MessageTemplate.objects.get(key="welcome_from_referral", language="en")
    preview = template_preview(template=template)
    assert "[partner_name] connected you" in preview.body
