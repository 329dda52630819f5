import django.db.models
from django.db import migrations

import tenants.models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_clinic_day_summary"),
    ]

    operations = [
        migrations.AddField(
            model_name="clinic",
            name="totem_key",
            field=django.db.models.CharField(
                default=tenants.models._new_totem_key, editable=False, max_length=64
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="totem_new_patients",
            field=django.db.models.CharField(
                choices=[
                    ("register", "Short registration at the totem (name, birth date)"),
                    ("reception", "Send the patient to reception"),
                ],
                default="register",
                max_length=10,
                verbose_name="new CPF at the totem",
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="ticket_paper_mm",
            field=django.db.models.PositiveSmallIntegerField(
                choices=[(80, "80 mm"), (58, "58 mm")],
                default=80,
                verbose_name="ticket paper width",
            ),
        ),
    ]
