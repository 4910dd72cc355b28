"""The email a business customer's contacts get when a subscription charge fails (en, es, fr)."""

from django.db import migrations

KEY = "billing_charge_failed"
VARIABLES = ["business_name", "amount", "reason"]
TEXTS = {
    "en": (
        "Payment failed for {{ business_name }}",
        "We could not charge the subscription of {{ business_name }}"
        "{% if amount %} ({{ amount }}){% endif %}."
        "{% if reason %}\nThe billing provider said: {{ reason }}{% endif %}\n"
        "API access is suspended until the payment goes through. Please update the payment "
        "method at your billing provider; access is restored as soon as a charge succeeds.",
    ),
    "es": (
        "Pago fallido de {{ business_name }}",
        "No pudimos cobrar la suscripción de {{ business_name }}"
        "{% if amount %} ({{ amount }}){% endif %}."
        "{% if reason %}\nEl proveedor de facturación indicó: {{ reason }}{% endif %}\n"
        "El acceso a la API queda suspendido hasta que se complete el pago. Actualice el método "
        "de pago en su proveedor de facturación; el acceso se restablece en cuanto un cobro "
        "se realice con éxito.",
    ),
    "fr": (
        "Échec du paiement de {{ business_name }}",
        "Nous n'avons pas pu débiter l'abonnement de {{ business_name }}"
        "{% if amount %} ({{ amount }}){% endif %}."
        "{% if reason %}\nLe prestataire de facturation a indiqué : {{ reason }}{% endif %}\n"
        "L'accès à l'API est suspendu jusqu'à ce que le paiement aboutisse. Mettez à jour le "
        "moyen de paiement chez votre prestataire de facturation ; l'accès est rétabli dès "
        "qu'un débit réussit.",
    ),
}


def _html(body: str) -> str:
    return "".join(f"<p>{line}</p>" for line in body.split("\n"))


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("engagement", "MessageTemplate")
    for language, (subject, body) in TEXTS.items():
        MessageTemplate.objects.update_or_create(
            key=KEY,
            language=language,
            defaults={
                "description": "A business customer's subscription charge failed (payments).",
                "variables": VARIABLES,
                "subject": subject,
                "body": body,
                "html_body": _html(body),
                "is_active": True,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("engagement", "MessageTemplate").objects.filter(key=KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_role_permissions"), ("engagement", "0002_seed_templates")]
    operations = [migrations.RunPython(seed, unseed)]
