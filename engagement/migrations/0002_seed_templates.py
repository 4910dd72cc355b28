"""Core message templates in en, es and fr (literal translations, reviewed with the text)."""

from django.db import migrations

TEMPLATES = [
    {
        "key": "welcome_from_referral",
        "description": "Welcome SMS to a patient referred by a partner (lead ingest).",
        "variables": ["first_name", "partner_name"],
        "texts": {
            "en": (
                "",
                "Welcome to CareOS{% if first_name %}, {{ first_name }}{% endif %}! "
                "{{ partner_name }} connected you with us to help you find care. "
                "We will text you shortly. Reply STOP to opt out.",
            ),
            "es": (
                "",
                "¡Bienvenido a CareOS{% if first_name %}, {{ first_name }}{% endif %}! "
                "{{ partner_name }} te conectó con nosotros para ayudarte a encontrar atención. "
                "Te escribiremos pronto. Responde BAJA para no recibir más mensajes.",
            ),
            "fr": (
                "",
                "Bienvenue sur CareOS{% if first_name %}, {{ first_name }}{% endif %} ! "
                "{{ partner_name }} vous a mis en relation avec nous pour trouver des soins. "
                "Nous vous écrirons très bientôt. Répondez ARRET pour vous désabonner.",
            ),
        },
    },
    {
        "key": "reminder",
        "description": "A reminder composed by a specialist (wellness, follow-up, booking).",
        "variables": ["title", "note"],
        "texts": {
            "en": ("Reminder: {{ title }}", "Reminder: {{ title }}{% if note %}. {{ note }}{% endif %}"),
            "es": ("Recordatorio: {{ title }}", "Recordatorio: {{ title }}{% if note %}. {{ note }}{% endif %}"),
            "fr": ("Rappel : {{ title }}", "Rappel : {{ title }}{% if note %}. {{ note }}{% endif %}"),
        },
    },
    {
        "key": "task_assigned",
        "description": "A new task for the patient.",
        "variables": ["title", "due_date"],
        "texts": {
            "en": ("New task: {{ title }}", "You have a new task: {{ title }}{% if due_date %} (due {{ due_date }}){% endif %}."),
            "es": ("Nueva tarea: {{ title }}", "Tienes una nueva tarea: {{ title }}{% if due_date %} (vence el {{ due_date }}){% endif %}."),
            "fr": ("Nouvelle tâche : {{ title }}", "Vous avez une nouvelle tâche : {{ title }}{% if due_date %} (échéance le {{ due_date }}){% endif %}."),
        },
    },
    {
        "key": "wellness_campaign",
        "description": "Preventive care campaign.",
        "variables": ["first_name", "clinic_name"],
        "texts": {
            "en": ("A message from {{ clinic_name }}", "Hi {{ first_name }}, {{ clinic_name }} invites you to book your preventive check-up. Reply STOP to opt out."),
            "es": ("Un mensaje de {{ clinic_name }}", "Hola {{ first_name }}, {{ clinic_name }} te invita a reservar tu chequeo preventivo. Responde BAJA para no recibir más mensajes."),
            "fr": ("Un message de {{ clinic_name }}", "Bonjour {{ first_name }}, {{ clinic_name }} vous invite à réserver votre bilan de prévention. Répondez ARRET pour vous désabonner."),
        },
    },
    {
        "key": "support_ticket_update",
        "description": "A support ticket changed.",
        "variables": ["ticket_ref", "status"],
        "texts": {
            "en": ("Your request {{ ticket_ref }}", "Your request {{ ticket_ref }} is now: {{ status }}."),
            "es": ("Su solicitud {{ ticket_ref }}", "Su solicitud {{ ticket_ref }} está ahora: {{ status }}."),
            "fr": ("Votre demande {{ ticket_ref }}", "Votre demande {{ ticket_ref }} est maintenant : {{ status }}."),
        },
    },
    {
        "key": "payment_receipt",
        "description": "Payment received.",
        "variables": ["amount", "receipt_ref"],
        "texts": {
            "en": ("Receipt {{ receipt_ref }}", "We received your payment of {{ amount }}. Receipt: {{ receipt_ref }}."),
            "es": ("Recibo {{ receipt_ref }}", "Hemos recibido su pago de {{ amount }}. Recibo: {{ receipt_ref }}."),
            "fr": ("Reçu {{ receipt_ref }}", "Nous avons reçu votre paiement de {{ amount }}. Reçu : {{ receipt_ref }}."),
        },
    },
]


def seed(apps, schema_editor):
    from careos.ids import new_public_id

    MessageTemplate = apps.get_model("engagement", "MessageTemplate")
    for spec in TEMPLATES:
        for language, (subject, body) in spec["texts"].items():
            MessageTemplate.objects.get_or_create(
                key=spec["key"],
                language=language,
                defaults={
                    "public_id": new_public_id("tpl"),
                    "description": spec["description"],
                    "variables": spec["variables"],
                    "subject": subject,
                    "body": body,
                },
            )


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("engagement", "MessageTemplate")
    MessageTemplate.objects.filter(key__in=[t["key"] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
