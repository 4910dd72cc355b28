"""Seeded rows: the default business → healthcare category mapping (editable in the admin) and
the beat schedule of the welcome SMS sweep (a django-celery-beat row, editable in the admin)."""

from django.db import migrations

DEFAULTS = {
    "home_care": [
        "caregiver", "caregiving", "home_care", "home_health", "elder_care", "eldercare",
        "companion_care", "respite_care", "in_home_care", "personal_care",
    ],
    "senior_living": [
        "senior_living", "assisted_living", "nursing_home", "memory_care",
        "retirement_community", "independent_living", "hospice",
    ],
    "mental_health": [
        "mental_health", "counseling", "counselling", "therapy", "therapist", "psychology",
        "psychiatry", "behavioral_health", "life_coaching",
    ],
    "physical_therapy": [
        "physical_therapy", "physiotherapy", "rehabilitation", "chiropractic", "chiropractor",
        "sports_medicine", "occupational_therapy", "massage_therapy",
    ],
    "primary_care": [
        "primary_care", "medical", "doctor", "clinic", "urgent_care", "family_medicine",
        "telehealth", "pharmacy",
    ],
    "dental": ["dental", "dentist", "orthodontics", "orthodontist"],
    "pediatrics": ["pediatrics", "pediatrician", "child_health"],
    "nutrition": ["nutrition", "dietitian", "nutritionist", "wellness", "weight_loss", "fitness"],
    "substance_use": ["substance_use", "addiction", "addiction_recovery", "sober_living"],
}


def seed(apps, schema_editor):
    CategoryMapping = apps.get_model("leads", "CategoryMapping")
    for healthcare, businesses in DEFAULTS.items():
        for business in businesses:
            CategoryMapping.objects.get_or_create(
                business_category=business, defaults={"healthcare_category": healthcare}
            )


def unseed(apps, schema_editor):
    CategoryMapping = apps.get_model("leads", "CategoryMapping")
    CategoryMapping.objects.filter(
        business_category__in=[b for businesses in DEFAULTS.values() for b in businesses]
    ).delete()


SWEEP_NAME = "leads: welcome SMS sweep (queueing lost after commit)"


def seed_sweep(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=300, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=SWEEP_NAME, defaults={"task": "leads.tasks.welcome_sweep", "interval": interval, "enabled": True}
    )


def unseed_sweep(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(seed_sweep, unseed_sweep),
    ]
