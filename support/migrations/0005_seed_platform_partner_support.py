"""Seeds the platform's partner-support desk (issue 12): a "Partner support" queue and its
escalation queue, a business-days calendar and a round-the-clock one, and one SLA policy per
partner tier. Staff edit them in the admin; running this again changes nothing."""

from datetime import time

from django.db import migrations


QUEUE = "Partner support"
ESCALATIONS = "Partner support escalations"
BUSINESS_DAYS = "CareOS partner support (business days)"
ROUND_THE_CLOCK = "CareOS partner support (24/7)"
# Per tier: the calendar its clock runs on, and business minutes per priority for
# (first response, next response, resolution).
POLICIES = {
    "basic": (
        BUSINESS_DAYS,
        {
            "urgent": (240, 480, 2400),
            "high": (480, 960, 4800),
            "normal": (960, 1920, 9600),
            "low": (1920, 2880, 14400),
        },
    ),
    "pro": (
        BUSINESS_DAYS,
        {
            "urgent": (60, 120, 960),
            "high": (120, 240, 1920),
            "normal": (240, 480, 4800),
            "low": (480, 960, 9600),
        },
    ),
    "enterprise": (
        ROUND_THE_CLOCK,
        {
            "urgent": (30, 60, 480),
            "high": (60, 120, 960),
            "normal": (240, 480, 2880),
            "low": (480, 960, 5760),
        },
    ),
}


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("support", "BusinessCalendar")
    BusinessHours = apps.get_model("support", "BusinessHours")
    Queue = apps.get_model("support", "Queue")
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    SlaTarget = apps.get_model("support", "SlaTarget")
    calendars = {}
    for name, days, opens, closes in (
        (BUSINESS_DAYS, range(5), time(9), time(17)),
        (ROUND_THE_CLOCK, range(7), time(0), time(0)),  # 00:00 closing: the end of the day
    ):
        calendar, created = BusinessCalendar.objects.get_or_create(
            clinic=None, name=name, defaults={"timezone": "UTC"}
        )
        if created:
            for day in days:
                BusinessHours.objects.create(
                    calendar=calendar, weekday=day, opens=opens, closes=closes
                )
        calendars[name] = calendar
    escalations, _ = Queue.objects.get_or_create(
        clinic=None, name=ESCALATIONS, defaults={"is_escalation": True}
    )
    Queue.objects.get_or_create(
        clinic=None, name=QUEUE, defaults={"escalation_queue": escalations}
    )
    for tier, (calendar_name, targets) in POLICIES.items():
        policy, created = SlaPolicy.objects.get_or_create(
            clinic=None,
            partner_tier=tier,
            defaults={
                "name": f"Partner support: {tier}",
                "calendar": calendars[calendar_name],
            },
        )
        if created:
            for priority, (first, following, resolution) in targets.items():
                SlaTarget.objects.create(
                    policy=policy,
                    priority=priority,
                    first_response_minutes=first,
                    next_response_minutes=following,
                    resolution_minutes=resolution,
                )


def unseed(apps, schema_editor):
    # The desk's rows go only while no ticket refers to them (reversing 0004 then also needs
    # every clinic-less ticket gone). Children first, then each table on its own: on the way
    # down Django's deletion collector cannot query the calendars' relations ("Must be
    # BusinessCalendar instance"), so they go by SQL.
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    BusinessCalendar = apps.get_model("support", "BusinessCalendar")
    policies = SlaPolicy.objects.filter(clinic=None)
    apps.get_model("support", "SlaTarget").objects.filter(policy__in=policies).delete()
    policies.delete()
    apps.get_model("support", "Queue").objects.filter(clinic=None).delete()
    calendars = list(BusinessCalendar.objects.filter(clinic=None).values_list("pk", flat=True))
    apps.get_model("support", "BusinessHours").objects.filter(calendar_id__in=calendars).delete()
    apps.get_model("support", "Closure").objects.filter(calendar_id__in=calendars).delete()
    table = schema_editor.quote_name(BusinessCalendar._meta.db_table)
    schema_editor.execute(f"DELETE FROM {table} WHERE clinic_id IS NULL")  # noqa: S608

class Migration(migrations.Migration):
    dependencies = [("support", "0004_platform_partner_support")]

    operations = [migrations.RunPython(seed, unseed)]
