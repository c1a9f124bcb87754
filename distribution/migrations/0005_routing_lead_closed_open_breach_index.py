# A closed lead's routing row says so, and a partial index holds only the open leads' breaches:
# the manager queue's breach list reads a few rows instead of sorting a year of closed ones; its
# unowned leads are found through an index of the routing rows not yet owned.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('distribution', '0004_notification_deal_dispute'),
        ('leads', '0011_lead_attempted_at_waiting_index'),
        ('org', '0005_schedule_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='leadrouting',
            name='lead_closed',
            field=models.BooleanField(db_default=False, default=False),
        ),
        # The leads already sold or lost (final statuses) before the index is built.
        migrations.RunSQL(
            """
            UPDATE distribution_leadrouting r SET lead_closed = true
              FROM leads_lead l
             WHERE l.id = r.lead_id AND l.status IN ('sold', 'lost') AND NOT r.lead_closed
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='leadrouting',
            index=models.Index(condition=models.Q(('breach_at__isnull', False), ('first_two_way_at__isnull', True), ('lead_closed', False), models.Q(('first_attempt_at__isnull', True), ('first_attempt_at__gt', models.F('breach_at')), _connector='OR')), fields=['breach_at', 'lead'], name='routing_open_breach'),
        ),
        migrations.AddIndex(
            model_name='leadrouting',
            index=models.Index(condition=models.Q(('state__in', ['manager', 'waiting'])), fields=['state', 'queued_at'], name='routing_unowned'),
        ),
    ]
