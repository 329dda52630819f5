"""Ticket events and finished check-ins reach the clinic's event stream (events_event) by trigger.

The ticket statements of queueing/services/ticket_sql/ stay single statements: a statement-level
trigger on the ticket event table turns each statement's new rows into `ticket.<kind>` events
(one INSERT, one index update, one notification per statement, however many rows; the daily
close's expiry of a thousand tickets included). A row trigger on check-ins turns the change to
queued or failed into `checkin.queued` / `checkin.failed`, in the same statement that marks it.
AFTER triggers run at the end of the statement, so they see the ticket as the statement left it.
The data carries codes, statuses, ids and desk names; never a patient's name or CPF, nor the
free-text cancel reason.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION queueing_ticketevent_to_stream() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_ticket_events) THEN
        RETURN NULL;
    END IF;
    INSERT INTO events_event (kind, at, ticket_id, service_id, desk_id, data)
    SELECT 'ticket.' || e.kind, e.at, e.ticket_id, t.service_id, e.desk_id,
           jsonb_build_object(
               'display_code', t.display_code,
               'status', e.to_status,
               'from_status', e.from_status,
               'service_id', t.service_id,
               'desk_id', e.desk_id,
               'desk', d.name,
               'service_day', t.service_day
           ) || jsonb_strip_nulls(jsonb_build_object(
               'recall_count', e.detail -> 'recall_count',
               'transferred_from', e.detail -> 'transferred_from'
           ))
    FROM new_ticket_events e
    JOIN queueing_ticket t ON t.id = e.ticket_id
    LEFT JOIN queueing_desk d ON d.id = e.desk_id
    ORDER BY e.id;
    RETURN NULL;
END;
$fn$;
CREATE TRIGGER queueing_ticketevent_to_stream
    AFTER INSERT ON queueing_ticketevent
    REFERENCING NEW TABLE AS new_ticket_events
    FOR EACH STATEMENT EXECUTE FUNCTION queueing_ticketevent_to_stream();

CREATE FUNCTION queueing_checkin_to_stream() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO events_event (kind, at, ticket_id, service_id, desk_id, data)
    SELECT 'checkin.' || NEW.status, coalesce(NEW.processed_at, now()), NEW.ticket_id,
           NEW.service_id, NULL,
           jsonb_build_object(
               'checkin_id', NEW.id,
               'status', NEW.status,
               'service_id', NEW.service_id,
               'ticket_id', NEW.ticket_id,
               'display_code', (SELECT t.display_code FROM queueing_ticket t
                                WHERE t.id = NEW.ticket_id),
               'reason', nullif(NEW.failure_reason, '')
           );
    RETURN NULL;
END;
$fn$;
CREATE TRIGGER queueing_checkin_to_stream
    AFTER UPDATE OF status ON queueing_checkin
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('queued', 'failed'))
    EXECUTE FUNCTION queueing_checkin_to_stream();
"""
BACKWARD = """
DROP TRIGGER queueing_checkin_to_stream ON queueing_checkin;
DROP FUNCTION queueing_checkin_to_stream();
DROP TRIGGER queueing_ticketevent_to_stream ON queueing_ticketevent;
DROP FUNCTION queueing_ticketevent_to_stream();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0003_checkin_request_hash"),
        ("events", "0002_event_stream_triggers"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
