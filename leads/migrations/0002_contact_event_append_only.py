"""PostgreSQL itself refuses UPDATE and DELETE of a contact event.

Application code already never changes an event; the trigger makes that a property of the
data, so no admin action, shell session or future bug can rewrite the evidence that deal
credit is judged on. TRUNCATE (used only to reset a test database) is not a row operation.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION leads_contactevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'contact events are append-only: % refused on leads_contactevent id %', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER leads_contactevent_append_only
    BEFORE UPDATE OR DELETE ON leads_contactevent
    FOR EACH ROW EXECUTE FUNCTION leads_contactevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS leads_contactevent_append_only ON leads_contactevent;
DROP FUNCTION IF EXISTS leads_contactevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
