"""PostgreSQL refuses TRUNCATE of the contact events too, not only UPDATE and DELETE.

TRUNCATE is a statement, not a row operation, so the row trigger of 0002 never saw it. The
one legitimate TRUNCATE is a test database reset (Django's flush between transactional tests):
a session that sets `dealercrm.allow_truncate = 'on'` may truncate (tests/conftest.py sets it on
the test connections); nothing in the application does.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION leads_contactevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('dealercrm.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'contact events are append-only: TRUNCATE refused on leads_contactevent'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER leads_contactevent_no_truncate
    BEFORE TRUNCATE ON leads_contactevent
    FOR EACH STATEMENT EXECUTE FUNCTION leads_contactevent_no_truncate();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS leads_contactevent_no_truncate ON leads_contactevent;
DROP FUNCTION IF EXISTS leads_contactevent_no_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0009_contact_classification")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
