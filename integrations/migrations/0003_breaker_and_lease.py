from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_delivery_log_retention_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhooksubscription",
            name="failures_in_row",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="breaker_open_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
