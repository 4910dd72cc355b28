"""engagement's public surface for the apps above it (partners, payments, leads, support, …).

Send one message (idempotent per purpose + recipient address + dedupe_key; delivery in Celery
after commit; suppressed when opted out; deferred by quiet hours unless urgent)::

    from engagement.services.messages import message_send

    message_send(
        channel="sms",  # "sms" | "email" | "push"
        recipient=patient,  # a rbac User, or a phone/email string
        purpose="welcome_from_referral",
        template_key="welcome_from_referral",
        context={"first_name": "Ana", "partner_name": "BusinessOS"},  # declared names only
        dedupe_key=lead.public_id,
        actor=actor,
        # language=None (the user's preferred_language, fallback en), urgent=False, clinic=None
    ) -> Message

Reminders and tasks: ``engagement.services.reminders.reminder_create(...)`` (``related_ref`` =
a booking or ticket public id), ``task_create(...)``, ``task_complete(...)``.
Opt-outs: ``engagement.services.optouts.is_opted_out(channel=..., address=...)``.
"""
