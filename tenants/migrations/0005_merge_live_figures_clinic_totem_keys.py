"""Joins two branches' migrations (merged in parallel); no change of its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_live_figures_and_break_time"),
        ("tenants", "0004_clinic_totem_keys"),
    ]

    operations: list = []
