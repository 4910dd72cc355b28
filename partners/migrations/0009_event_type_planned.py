"""The catalog tells the truth (issue 12): a ``planned`` flag for types whose feature is not
built yet (listed, not subscribable, not publishable), set on those types; and the examples of
the types wired in this change show the payloads they are really published with."""

from django.db import migrations, models

# Embedded integrations (connections, executions) are not built; usage is counted but not
# announced.
PLANNED = [
    "billing.usage_updated",
    "connection.created",
    "connection.disconnected",
    "connection.failed",
    "execution.failed",
    "execution.succeeded",
]

EXAMPLES = {
    "consent.confirmed": (
        "A person's consent tied to you (a referral consent given with a lead) was confirmed.",
        {
            "consentId": "cns_…",
            "consentType": "partner_referral",
            "status": "confirmed",
            "leadId": "lead_…",
            "confirmedAt": "2026-11-22T10:00:00Z",
            "revokedAt": None,
        },
    ),
    "consent.revoked": (
        "A person revoked a consent tied to you: stop using what it covered.",
        {
            "consentId": "cns_…",
            "consentType": "partner_referral",
            "status": "revoked",
            "leadId": "lead_…",
            "confirmedAt": "2026-11-22T10:00:00Z",
            "revokedAt": "2026-11-23T09:30:00Z",
        },
    ),
    "partner.application.approved": (
        "Your application passed review; its OAuth client exists.",
        {
            "applicationId": "app_…",
            "name": "Scheduling sync",
            "status": "approved",
            "clientId": "…",
        },
    ),
}

# As written by 0006, to put back on the way down.
PREVIOUS_EXAMPLES = {
    "consent.confirmed": (
        "A patient confirmed consent.",
        {"leadId": "lead_…", "consentType": "referral"},
    ),
    "consent.revoked": (
        "A patient revoked consent.",
        {"leadId": "lead_…", "consentType": "referral"},
    ),
    "partner.application.approved": (
        "A partner application was approved.",
        {"applicationId": "app_…"},
    ),
}


def _write(apps, examples, planned):
    EventType = apps.get_model("partners", "EventType")
    EventType.objects.filter(name__in=PLANNED).update(planned=planned)
    for name, (description, example) in examples.items():
        EventType.objects.filter(name=name).update(
            description=description, payload_example=example
        )


def mark(apps, schema_editor):
    _write(apps, EXAMPLES, planned=True)


def unmark(apps, schema_editor):
    _write(apps, PREVIOUS_EXAMPLES, planned=False)


class Migration(migrations.Migration):
    dependencies = [("partners", "0008_webhook_endpoint_claim")]

    operations = [
        migrations.AddField(
            model_name="eventtype",
            name="planned",
            field=models.BooleanField(
                default=False,
                help_text="For a feature not built yet: listed, but not subscribable or published.",
            ),
        ),
        migrations.AddConstraint(
            model_name="eventtype",
            constraint=models.CheckConstraint(
                condition=models.Q(("planned", True), ("deprecated", True), _negated=True),
                name="partners_eventtype_planned_not_deprecated",
            ),
        ),
        migrations.RunPython(mark, unmark),
    ]
