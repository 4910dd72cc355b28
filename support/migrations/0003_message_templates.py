"""Message templates of support notifications in en, es and fr (engagement renders them)."""

from django.db import migrations

TEMPLATES = [
    {
        "key": "support_ticket_received",
        "description": "Support: we received the requester's ticket.",
        "variables": ["ticket_ref"],
        "texts": {
            "en": ("We received your request {{ ticket_ref }}", "We received your request {{ ticket_ref }}. Our team will answer you soon."),
            "es": ("Recibimos su solicitud {{ ticket_ref }}", "Recibimos su solicitud {{ ticket_ref }}. Nuestro equipo le responderá pronto."),
            "fr": ("Nous avons reçu votre demande {{ ticket_ref }}", "Nous avons reçu votre demande {{ ticket_ref }}. Notre équipe vous répondra bientôt."),
        },
    },
    {
        "key": "support_ticket_reply",
        "description": "Support: an agent replied to the requester.",
        "variables": ["ticket_ref"],
        "texts": {
            "en": ("New reply on {{ ticket_ref }}", "You have a new reply on your request {{ ticket_ref }}."),
            "es": ("Nueva respuesta en {{ ticket_ref }}", "Tiene una nueva respuesta en su solicitud {{ ticket_ref }}."),
            "fr": ("Nouvelle réponse sur {{ ticket_ref }}", "Vous avez une nouvelle réponse sur votre demande {{ ticket_ref }}."),
        },
    },
    {
        "key": "support_ticket_solved",
        "description": "Support: the ticket was solved; CSAT survey link.",
        "variables": ["ticket_ref", "survey_url"],
        "texts": {
            "en": ("Your request {{ ticket_ref }} was solved", "Your request {{ ticket_ref }} was solved. How did we do? {{ survey_url }}"),
            "es": ("Su solicitud {{ ticket_ref }} fue resuelta", "Su solicitud {{ ticket_ref }} fue resuelta. ¿Cómo lo hicimos? {{ survey_url }}"),
            "fr": ("Votre demande {{ ticket_ref }} est résolue", "Votre demande {{ ticket_ref }} est résolue. Qu'en avez-vous pensé ? {{ survey_url }}"),
        },
    },
    {
        "key": "support_agent_assigned",
        "description": "Support: a ticket was assigned to the agent.",
        "variables": ["ticket_ref", "priority"],
        "texts": {
            "en": ("Ticket {{ ticket_ref }} assigned to you", "Ticket {{ ticket_ref }} ({{ priority }}) is assigned to you."),
            "es": ("Ticket {{ ticket_ref }} asignado a usted", "El ticket {{ ticket_ref }} ({{ priority }}) está asignado a usted."),
            "fr": ("Ticket {{ ticket_ref }} qui vous est attribué", "Le ticket {{ ticket_ref }} ({{ priority }}) vous est attribué."),
        },
    },
    {
        "key": "support_agent_reply",
        "description": "Support: the requester replied (to the assignee).",
        "variables": ["ticket_ref"],
        "texts": {
            "en": ("Requester replied on {{ ticket_ref }}", "The requester replied on ticket {{ ticket_ref }}."),
            "es": ("El solicitante respondió en {{ ticket_ref }}", "El solicitante respondió en el ticket {{ ticket_ref }}."),
            "fr": ("Le demandeur a répondu sur {{ ticket_ref }}", "Le demandeur a répondu sur le ticket {{ ticket_ref }}."),
        },
    },
    {
        "key": "support_ticket_escalated",
        "description": "Support: a ticket was escalated to the supervisor.",
        "variables": ["ticket_ref", "priority", "level"],
        "texts": {
            "en": ("Escalated: {{ ticket_ref }}", "Ticket {{ ticket_ref }} was escalated to you (level {{ level }}, {{ priority }})."),
            "es": ("Escalado: {{ ticket_ref }}", "El ticket {{ ticket_ref }} se le escaló (nivel {{ level }}, {{ priority }})."),
            "fr": ("Escaladé : {{ ticket_ref }}", "Le ticket {{ ticket_ref }} vous a été escaladé (niveau {{ level }}, {{ priority }})."),
        },
    },
    {
        "key": "support_sla_warning",
        "description": "Support: 80% of an SLA target used (to the assignee).",
        "variables": ["ticket_ref", "target"],
        "texts": {
            "en": ("SLA warning on {{ ticket_ref }}", "Ticket {{ ticket_ref }} has used 80% of its {{ target }} time."),
            "es": ("Aviso de SLA en {{ ticket_ref }}", "El ticket {{ ticket_ref }} ha usado el 80% de su tiempo de {{ target }}."),
            "fr": ("Alerte SLA sur {{ ticket_ref }}", "Le ticket {{ ticket_ref }} a utilisé 80 % de son délai de {{ target }}."),
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
    dependencies = [
        ("support", "0002_grants_and_sla_sweep_schedule"),
        ("engagement", "0002_seed_templates"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
