"""Payments emails in en, es and fr (engagement message templates): the itemized receipt
(payment_receipt) and the specialist payout notices (payout_paid, payout_balance)."""

from django.db import migrations

VARIABLES = ["receipt_number", "service", "items", "total", "booking_id"]
TEXTS = {
    "en": (
        "Your receipt {{ receipt_number }}",
        "Thank you for your payment.\nReceipt {{ receipt_number }} for {{ service }} "
        "(booking {{ booking_id }}):\n{{ items }}\nTotal paid: {{ total }}",
    ),
    "es": (
        "Su recibo {{ receipt_number }}",
        "Gracias por su pago.\nRecibo {{ receipt_number }} por {{ service }} "
        "(reserva {{ booking_id }}):\n{{ items }}\nTotal pagado: {{ total }}",
    ),
    "fr": (
        "Votre reçu {{ receipt_number }}",
        "Merci pour votre paiement.\nReçu {{ receipt_number }} pour {{ service }} "
        "(réservation {{ booking_id }}) :\n{{ items }}\nTotal payé : {{ total }}",
    ),
}


def _html(body: str) -> str:
    first, rest = body.split("\n", 1)
    rest = rest.replace("{{ items }}", "{{ items|linebreaksbr }}").replace("\n", "<br>")
    return f"<p>{first}</p><p>{rest}</p>"


PAYOUT_TEXTS = {
    "payout_paid": (
        "A payout was sent to a specialist's Stripe account.",
        ["amount", "payout_id"],
        {
            "en": ("Payout sent: {{ amount }}", "We sent you {{ amount }} (payout {{ payout_id }})."),
            "es": ("Pago enviado: {{ amount }}", "Le enviamos {{ amount }} (pago {{ payout_id }})."),
            "fr": ("Virement envoyé : {{ amount }}", "Nous vous avons versé {{ amount }} (virement {{ payout_id }})."),
        },
    ),
    "payout_balance": (
        "A specialist's unpaid balance is waiting for a payout account.",
        ["amount"],
        {
            "en": (
                "Your balance: {{ amount }}",
                "You have {{ amount }} waiting. Connect a payout account to receive it.",
            ),
            "es": (
                "Su saldo: {{ amount }}",
                "Tiene {{ amount }} pendiente. Conecte una cuenta de pago para recibirlo.",
            ),
            "fr": (
                "Votre solde : {{ amount }}",
                "{{ amount }} vous attendent. Connectez un compte de versement pour les recevoir.",
            ),
        },
    ),
}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("engagement", "MessageTemplate")
    for language, (subject, body) in TEXTS.items():
        MessageTemplate.objects.update_or_create(
            key="payment_receipt",
            language=language,
            defaults={
                "description": "Itemized payment receipt (payments).",
                "variables": VARIABLES,
                "subject": subject,
                "body": body,
                "html_body": _html(body),
                "is_active": True,
            },
        )
    for key, (description, variables, texts) in PAYOUT_TEXTS.items():
        for language, (subject, body) in texts.items():
            MessageTemplate.objects.update_or_create(
                key=key,
                language=language,
                defaults={
                    "description": description,
                    "variables": variables,
                    "subject": subject,
                    "body": body,
                    "html_body": f"<p>{body}</p>",
                    "is_active": True,
                },
            )


def unseed(apps, schema_editor):
    apps.get_model("engagement", "MessageTemplate").objects.filter(
        key__in=["payment_receipt", *PAYOUT_TEXTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_beat_schedules"), ("engagement", "0002_seed_templates")]
    operations = [migrations.RunPython(seed, unseed)]
