"""Every insert into the clinic's stream takes the clinic's index row, marks it, and notifies.

Before the statement inserts (so before its ids are drawn from the sequence) the clinic's row of
the public index `events_activity_clinicactivity` is upserted: its row lock is held until
commit, so the event-writing transactions of one clinic commit one after another and their ids
increase in commit order. A reader that has seen id N never meets a smaller id committed later,
which is what `Last-Event-ID` resumption and webhook cursors rely on. Clinics never wait for
each other. After the statement, the row gets the newest id and one `pg_notify` goes out on
channel `clinico_events` with the payload "<schema> <newest id>" (PostgreSQL sends it on
commit, and not at all on rollback).

The functions live in the clinic's schema; tenants/clone.sql copies functions and triggers to
new clinics. TG_TABLE_SCHEMA is the clinic's schema whatever the search_path.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION events_event_hold_clinic() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO public.events_activity_clinicactivity AS a (schema_name, last_event_id, last_at)
    VALUES (TG_TABLE_SCHEMA, 0, clock_timestamp())
    ON CONFLICT (schema_name) DO UPDATE SET last_at = excluded.last_at;
    RETURN NULL;
END;
$fn$;
CREATE FUNCTION events_event_announce() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    newest bigint;
BEGIN
    SELECT max(id) INTO newest FROM inserted_events;
    IF newest IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE public.events_activity_clinicactivity
    SET last_event_id = greatest(last_event_id, newest), last_at = clock_timestamp()
    WHERE schema_name = TG_TABLE_SCHEMA;
    PERFORM pg_notify('clinico_events', TG_TABLE_SCHEMA || ' ' || newest);
    RETURN NULL;
END;
$fn$;
CREATE TRIGGER events_event_hold_clinic
    BEFORE INSERT ON events_event
    FOR EACH STATEMENT EXECUTE FUNCTION events_event_hold_clinic();
CREATE TRIGGER events_event_announce
    AFTER INSERT ON events_event
    REFERENCING NEW TABLE AS inserted_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_event_announce();
"""
BACKWARD = """
DROP TRIGGER events_event_announce ON events_event;
DROP TRIGGER events_event_hold_clinic ON events_event;
DROP FUNCTION events_event_announce();
DROP FUNCTION events_event_hold_clinic();
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("events_activity", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
