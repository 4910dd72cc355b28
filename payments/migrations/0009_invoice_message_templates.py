"""Invoice emails in en, es and fr (engagement message templates): the invoice issued when a
booking is paid (patient_invoice) and the credit note of a refund (patient_credit_note)."""

from django.db import migrations

VARIABLES = ["number", "clinic", "total", "url"]
TEXTS = {
    "patient_invoice": (
        "A patient's invoice, issued when their booking is paid (payments).",
        {
            "en": (
                "Your invoice {{ number }}",
                "Your invoice {{ number }} from {{ clinic }} ({{ total }}) is ready.\n"
                "Download it (PDF) here: {{ url }}",
            ),
            "es": (
                "Su factura {{ number }}",
                "Su factura {{ number }} de {{ clinic }} ({{ total }}) está lista.\n"
                "Descárguela (PDF) aquí: {{ url }}",
            ),
            "fr": (
                "Votre facture {{ number }}",
                "Votre facture {{ number }} de {{ clinic }} ({{ total }}) est prête.\n"
                "Téléchargez-la (PDF) ici : {{ url }}",
            ),
        },
    ),
    "patient_credit_note": (
        "A patient's credit note, issued when a refund succeeds (payments).",
        {
            "en": (
                "Your credit note {{ number }}",
                "{{ clinic }} refunded {{ total }}: credit note {{ number }}.\n"
                "Download it (PDF) here: {{ url }}",
            ),
            "es": (
                "Su nota de crédito {{ number }}",
                "{{ clinic }} le ha reembolsado {{ total }}: nota de crédito {{ number }}.\n"
                "Descárguela (PDF) aquí: {{ url }}",
            ),
            "fr": (
                "Votre avoir {{ number }}",
                "{{ clinic }} vous a remboursé {{ total }} : avoir {{ number }}.\n"
                "Téléchargez-le (PDF) ici : {{ url }}",
            ),
        },
    ),
}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("engagement", "MessageTemplate")
    for key, (description, texts) in TEXTS.items():
        for language, (subject, body) in texts.items():
            first, rest = body.split("\n", 1)
            MessageTemplate.objects.update_or_create(
                key=key,
                language=language,
                defaults={
                    "description": description,
                    "variables": VARIABLES,
                    "subject": subject,
                    "body": body,
                    "html_body": f"<p>{first}</p><p>{rest}</p>",
                    "is_active": True,
                },
            )


def unseed(apps, schema_editor):
    apps.get_model("engagement", "MessageTemplate").objects.filter(key__in=list(TEXTS)).delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0008_catalogue_permissions"), ("engagement", "0002_seed_templates")]
    operations = [migrations.RunPython(seed, unseed)]
