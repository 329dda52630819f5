from django.db import migrations


class Migration(migrations.Migration):
    """Tickets issued before rank times existed are ranked by their arrival, as they were."""

    dependencies = [
        ("queueing", "0007_ticket_rank_at_service_appointment_window"),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE queueing_ticket SET rank_at = arrived_at WHERE rank_at IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
