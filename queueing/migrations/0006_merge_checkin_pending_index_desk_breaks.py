"""Joins two branches' migrations (merged in parallel); no change of its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0004_checkin_pending_index"),
        ("queueing", "0005_desk_breaks"),
    ]

    operations: list = []
