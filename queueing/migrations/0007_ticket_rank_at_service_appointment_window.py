from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0006_checkin_pending_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="rank_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="service",
            name="appointment_early_minutes",
            field=models.PositiveSmallIntegerField(
                default=30, verbose_name="appointment: early window (minutes)"
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="appointment_late_minutes",
            field=models.PositiveSmallIntegerField(
                default=15, verbose_name="appointment: late tolerance (minutes)"
            ),
        ),
    ]
