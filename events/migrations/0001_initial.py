from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("kind", models.CharField(max_length=64)),
                ("at", models.DateTimeField()),
                ("ticket_id", models.BigIntegerField(blank=True, null=True)),
                ("service_id", models.IntegerField(blank=True, null=True)),
                ("desk_id", models.IntegerField(blank=True, null=True)),
                ("data", models.JSONField(default=dict)),
            ],
            options={"ordering": ["id"]},
        ),
    ]
