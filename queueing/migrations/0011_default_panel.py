"""Each clinic's single waiting-room panel becomes its default Panel, keeping the TV's key.

The key lived on the clinic's row in the public schema (tenants_clinic.panel_key); the default
panel stores only its SHA-256 digest, so the TV's current link keeps working. The template schema
has no clinic row and gets no panel: provisioning creates a new clinic's default panel.
"""

import hashlib

from django.db import migrations


def default_panel_create(apps, schema_editor):
    connection = schema_editor.connection
    schema = getattr(connection, "schema_name", "public")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT panel_key FROM public.tenants_clinic WHERE schema_name = %s", [schema]
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return
    Panel = apps.get_model("queueing", "Panel")
    if Panel.objects.filter(is_default=True).exists():
        return
    Panel.objects.create(
        name="Painel principal",
        key_hash=hashlib.sha256(row[0].encode()).hexdigest(),
        is_default=True,
    )


def default_panel_remove(apps, schema_editor):
    apps.get_model("queueing", "Panel").objects.filter(is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0010_panel"),
    ]

    operations = [migrations.RunPython(default_panel_create, default_panel_remove)]
