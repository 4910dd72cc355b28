"""The receipt email in en, es and fr (an engagement message template, key payment_receipt)."""

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


def unseed(apps, schema_editor):
    apps.get_model("engagement", "MessageTemplate").objects.filter(key="payment_receipt").delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_beat_schedules"), ("engagement", "0002_seed_templates")]
    operations = [migrations.RunPython(seed, unseed)]
