"""The access trail is append-only in the database itself, whatever code or role writes to it.

The function lives in the clinic's schema (tenants/clone.sql copies functions and triggers to
new clinics). UPDATE and TRUNCATE are always refused; DELETE only of entries older than 183
days (audit.models.TRAIL_DELETE_FLOOR_DAYS), which only the retention purge does.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_accessentry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.at < now() - interval '183 days' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the access trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$fn$;
CREATE TRIGGER audit_accessentry_append_only
    BEFORE UPDATE OR DELETE ON audit_accessentry
    FOR EACH ROW EXECUTE FUNCTION audit_accessentry_refuse_change();
CREATE TRIGGER audit_accessentry_no_truncate
    BEFORE TRUNCATE ON audit_accessentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_accessentry_refuse_change();
"""
BACKWARD = """
DROP TRIGGER audit_accessentry_no_truncate ON audit_accessentry;
DROP TRIGGER audit_accessentry_append_only ON audit_accessentry;
DROP FUNCTION audit_accessentry_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
