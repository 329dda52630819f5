from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0008_ticket_rank_at_from_arrival"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="rank_at",
            field=models.DateTimeField(),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_waiting_call_order",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status", "waiting")),
                fields=["service", "service_day", "priority_tier", "rank_at", "id"],
                name="ticket_waiting_call_order",
            ),
        ),
    ]
