"""Partners' support tickets go to the platform (issue 12): a ticket, queue, SLA policy, calendar,
agent or CSAT response with no clinic belongs to the platform's partner-support desk; only a
partner's ticket may have no clinic. 0005 seeds the desk."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rbac', '0003_auditevent_append_only_triggers'),
        ('support', '0003_message_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='ticket',
            options={'permissions': [('work_ticket', 'Can work support tickets (reply, assign, change status)'), ('supervise_ticket', 'Can receive escalations and see every queue'), ('work_platform_ticket', "Can work the platform's partner-support tickets (CareOS staff, not a role)")]},
        ),
        migrations.AlterField(
            model_name='agentprofile',
            name='clinic',
            field=models.ForeignKey(blank=True, help_text="Empty: an agent of the platform's partner-support desk.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='support_agents', to='rbac.clinic'),
        ),
        migrations.AlterField(
            model_name='businesscalendar',
            name='clinic',
            field=models.ForeignKey(blank=True, help_text="Empty: a calendar of the platform's partner-support desk.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='support_calendars', to='rbac.clinic'),
        ),
        migrations.AlterField(
            model_name='csatresponse',
            name='clinic',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rbac.clinic'),
        ),
        migrations.AlterField(
            model_name='queue',
            name='clinic',
            field=models.ForeignKey(blank=True, help_text="Empty: a queue of the platform's partner-support desk.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='queues', to='rbac.clinic'),
        ),
        migrations.AlterField(
            model_name='slapolicy',
            name='clinic',
            field=models.ForeignKey(blank=True, help_text="Empty: a policy of the platform's partner-support desk.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='sla_policies', to='rbac.clinic'),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='clinic',
            field=models.ForeignKey(blank=True, help_text="Empty: a partner's request to CareOS, worked by the platform's desk.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='rbac.clinic'),
        ),
        migrations.AddConstraint(
            model_name='agentprofile',
            constraint=models.UniqueConstraint(condition=models.Q(('clinic__isnull', True)), fields=('user',), name='agent_unique_platform'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.UniqueConstraint(condition=models.Q(('clinic__isnull', True)), fields=('name',), name='queue_unique_platform_name'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.UniqueConstraint(condition=models.Q(('clinic__isnull', True), ('is_escalation', True)), fields=('is_escalation',), name='queue_one_platform_escalation'),
        ),
        migrations.AddConstraint(
            model_name='slapolicy',
            constraint=models.UniqueConstraint(condition=models.Q(('clinic__isnull', True)), fields=('partner_tier',), name='sla_unique_platform_tier'),
        ),
        migrations.AddConstraint(
            model_name='ticket',
            constraint=models.CheckConstraint(condition=models.Q(('clinic__isnull', False), ('requester_kind', 'partner'), _connector='OR'), name='ticket_clinic_unless_partner'),
        ),
    ]
