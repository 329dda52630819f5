"""A public index of pending check-ins, kept by a trigger in the check-in's own transaction.

The check-in sweeper finds what to republish at every clinic with one query on this table
instead of one query per clinic: a row per pending check-in (its clinic's schema, id, creation
and last publish), inserted when a check-in is written pending, kept in step with its publishes,
and deleted when it leaves pending (or is deleted, or its table truncated).

The table and the function are shared by every clinic, in `public`; this migration runs in each
clinic schema (the template first, then clinics, which provisioning clones with the trigger), so
it creates them only where they are missing and, backwards, drops only the clinic's trigger.
"""

from django.db import migrations

FORWARD = """
DO $do$
BEGIN
    IF to_regclass('public.queueing_checkin_pending') IS NULL THEN
        CREATE TABLE public.queueing_checkin_pending (
            schema_name varchar(63) NOT NULL,
            checkin_id uuid NOT NULL,
            created_at timestamptz NOT NULL,
            last_published_at timestamptz,
            publish_count integer NOT NULL,
            PRIMARY KEY (schema_name, checkin_id)
        );
        CREATE INDEX queueing_checkin_pending_created
            ON public.queueing_checkin_pending (created_at);
    END IF;
    IF to_regprocedure('public.queueing_checkin_pending_sync()') IS NULL THEN
        CREATE FUNCTION public.queueing_checkin_pending_sync() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM public.queueing_checkin_pending WHERE schema_name = TG_TABLE_SCHEMA;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'pending'
               AND (TG_OP = 'DELETE' OR NEW.status <> 'pending') THEN
                DELETE FROM public.queueing_checkin_pending
                WHERE schema_name = TG_TABLE_SCHEMA AND checkin_id = OLD.id;
            ELSIF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'pending' THEN
                INSERT INTO public.queueing_checkin_pending AS p
                VALUES (TG_TABLE_SCHEMA, NEW.id, NEW.created_at, NEW.last_published_at,
                        NEW.publish_count)
                ON CONFLICT (schema_name, checkin_id) DO UPDATE
                SET created_at = EXCLUDED.created_at,
                    last_published_at = EXCLUDED.last_published_at,
                    publish_count = EXCLUDED.publish_count;
            END IF;
            RETURN NULL;
        END;
        $fn$;
    END IF;
END;
$do$;
CREATE TRIGGER queueing_checkin_pending_sync
    AFTER INSERT OR DELETE OR UPDATE OF status, created_at, last_published_at, publish_count
    ON queueing_checkin FOR EACH ROW EXECUTE FUNCTION public.queueing_checkin_pending_sync();
CREATE TRIGGER queueing_checkin_pending_truncate
    AFTER TRUNCATE ON queueing_checkin
    FOR EACH STATEMENT EXECUTE FUNCTION public.queueing_checkin_pending_sync();
INSERT INTO public.queueing_checkin_pending
SELECT current_schema(), id, created_at, last_published_at, publish_count
FROM queueing_checkin WHERE status = 'pending'
ON CONFLICT DO NOTHING;
"""
BACKWARD = """
DROP TRIGGER queueing_checkin_pending_truncate ON queueing_checkin;
DROP TRIGGER queueing_checkin_pending_sync ON queueing_checkin;
DELETE FROM public.queueing_checkin_pending WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("queueing", "0005_desk_breaks")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
