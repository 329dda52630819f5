from django.db import migrations


def _give_each_clinic_its_own_totem_key(apps, schema_editor):
    """AddField computed one default for every existing row: no two clinics may share a key."""
    from tenants.models import _new_totem_key

    Clinic = apps.get_model("tenants", "Clinic")
    for clinic in Clinic.objects.only("pk"):
        Clinic.objects.filter(pk=clinic.pk).update(totem_key=_new_totem_key())


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_clinic_totem"),
    ]

    operations = [
        migrations.RunPython(_give_each_clinic_its_own_totem_key, migrations.RunPython.noop),
    ]
