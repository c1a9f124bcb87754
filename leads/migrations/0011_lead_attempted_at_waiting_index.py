"""Lead.attempted_at and the partial index of the leads waiting for a first contact (the Today page).

The backfill marks the new leads whose customer already had an attempt since the lead arrived (the
page's own test); a closed lead never becomes new again, so it needs no value.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0010_contact_event_no_truncate'),
        ('org', '0005_schedule_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='lead',
            name='attempted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            """
            UPDATE leads_lead l SET attempted_at = a.first_attempt
            FROM (
                SELECT n.id, min(e.occurred_at) AS first_attempt
                FROM leads_lead n
                JOIN leads_contactevent e
                  ON e.customer_id = n.customer_id AND e.is_attempt AND e.occurred_at >= n.received_at
                WHERE n.status = 'new' AND n.attempted_at IS NULL
                GROUP BY n.id
            ) a
            WHERE l.id = a.id
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('attempted_at__isnull', True), ('duplicate_of__isnull', True), ('status', 'new')), fields=['owner', '-received_at'], name='lead_owner_waiting'),
        ),
    ]
