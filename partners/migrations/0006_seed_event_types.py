"""Seeds the event catalog (issue 4): the platform's standard events."""

from django.db import migrations

EVENT_TYPES = [
    ("lead.created", "A partner lead was received.", {"leadId": "lead_…", "status": "new"}),
    ("lead.updated", "A lead's details or status changed.", {"leadId": "lead_…", "changes": ["status"]}),
    ("lead.qualified", "A lead was qualified.", {"leadId": "lead_…"}),
    ("lead.assigned", "A lead was assigned to a clinic or specialist.", {"leadId": "lead_…", "clinicId": "cln_…"}),
    ("lead.converted", "A lead became a patient appointment.", {"leadId": "lead_…"}),
    ("consent.confirmed", "A patient confirmed consent.", {"leadId": "lead_…", "consentType": "referral"}),
    ("consent.revoked", "A patient revoked consent.", {"leadId": "lead_…", "consentType": "referral"}),
    ("ticket.created", "A support ticket was opened.", {"ticketId": "tkt_…", "priority": "normal"}),
    ("ticket.updated", "A support ticket changed.", {"ticketId": "tkt_…", "status": "open"}),
    ("ticket.escalated", "A support ticket was escalated.", {"ticketId": "tkt_…", "level": 2}),
    ("ticket.sla_breached", "A support ticket breached its SLA.", {"ticketId": "tkt_…", "timer": "first_response"}),
    ("ticket.resolved", "A support ticket was resolved.", {"ticketId": "tkt_…"}),
    ("payment.succeeded", "A payment succeeded.", {"paymentId": "pay_…", "amount": 5000, "currency": "USD"}),
    ("payment.failed", "A payment failed.", {"paymentId": "pay_…", "failureCode": "card_declined"}),
    ("payment.refunded", "A payment was refunded.", {"paymentId": "pay_…", "amountRefunded": 5000, "currency": "USD"}),
    ("payout.paid", "A payout was paid.", {"payoutId": "po_…", "amount": 120000, "currency": "USD"}),
    ("invoice.generated", "An invoice was generated.", {"invoiceId": "inv_…", "total": 9900, "currency": "USD"}),
    ("connection.created", "An end user connected an integration.", {"connectionId": "conn_…", "endUserId": "user-123", "integration": "slack", "status": "active"}),
    ("connection.disconnected", "An integration connection was removed.", {"connectionId": "conn_…", "endUserId": "user-123", "integration": "slack"}),
    ("connection.failed", "An integration connection stopped working.", {"connectionId": "conn_…", "integration": "slack", "error": {"code": "token_revoked"}}),
    ("execution.succeeded", "An integration action ran.", {"executionId": "exec_…", "integration": "slack", "action": "send_message"}),
    ("execution.failed", "An integration action failed.", {"executionId": "exec_…", "integration": "slack", "action": "send_message", "error": {"code": "channel_not_found", "message": "Channel not found"}}),
    ("partner.application.approved", "A partner application was approved.", {"applicationId": "app_…"}),
    ("billing.usage_updated", "The partner's usage for the period changed.", {"period": "2026-11", "calls": 1234}),
    ("message.attempt.exhausted", "A webhook message failed on every attempt and was dead-lettered.", {"endpointId": "whep_…", "messageId": "msg_…", "eventId": "evt_…", "eventType": "lead.created", "attempts": 8, "lastStatusCode": 500, "lastError": ""}),
    ("webhook.test", "A test event sent on request to one endpoint.", {"endpointId": "whep_…", "message": "This is a test event."}),
]


def seed(apps, schema_editor):
    EventType = apps.get_model("partners", "EventType")
    for name, description, example in EVENT_TYPES:
        EventType.objects.update_or_create(
            name=name, defaults={"description": description, "payload_example": example}
        )


def unseed(apps, schema_editor):
    apps.get_model("partners", "EventType").objects.filter(
        name__in=[name for name, _, _ in EVENT_TYPES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("partners", "0005_events_webhooks")]

    operations = [migrations.RunPython(seed, unseed)]
