"""A chosen call's `ticket.called` event says it was out of order (never its free-text reason).

The stream's data gains `out_of_order` (from the ticket event's detail) beside `recall_count` and
`transferred_from`; the reason stays on the ticket's history, for staff.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION queueing_ticketevent_to_stream() RETURNS trigger
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
               'transferred_from', e.detail -> 'transferred_from'%s
           ))
    FROM new_ticket_events e
    JOIN queueing_ticket t ON t.id = e.ticket_id
    LEFT JOIN queueing_desk d ON d.id = e.desk_id
    ORDER BY e.id;
    RETURN NULL;
END;
$fn$;
"""
FORWARD = FUNCTION % ",\n               'out_of_order', e.detail -> 'out_of_order'"
BACKWARD = FUNCTION % ""


class Migration(migrations.Migration):
    dependencies = [("queueing", "0013_ticketevent_kind_restored")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
