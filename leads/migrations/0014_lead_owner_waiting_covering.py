"""The Today page's new leads waiting for a first attempt (leads.views_today.queue_for).

At 1,000,000 leads the planner guessed an agent had ~9,700 waiting where there were 574: it
multiplies "status new", "no attempt" and "not a duplicate" as if independent, when nearly every
lead still "new" without an attempt is a fresh one. On that guess it hashed the whole routing
table (220 ms) or started parallel workers (12 ms) for a 2 ms query. So:

- extended statistics on those columns together (their most common combinations), which bring the
  guess to tens of rows;
- the partial index covers the query (id, customer and store included): an index-only scan whose
  cost follows what waits.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0013_customer_name_prefix_indexes'),
        ('org', '0005_schedule_version'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_owner_waiting',
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('attempted_at__isnull', True), ('duplicate_of__isnull', True), ('status', 'new')), fields=['owner', '-received_at'], include=('id', 'customer', 'store'), name='lead_owner_waiting'),
        ),
        migrations.RunSQL(
            "CREATE STATISTICS lead_waiting_stats (mcv) ON status, attempted_at, duplicate_of_id FROM leads_lead",
            reverse_sql="DROP STATISTICS lead_waiting_stats",
        ),
        migrations.RunSQL("ANALYZE leads_lead", reverse_sql=migrations.RunSQL.noop),
    ]
