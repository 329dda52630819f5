"""Existing members keep what the staff page showed them: their name, and joined once they had
a password (the invitation then counted as accepted)."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX


def forwards(apps, schema_editor):
    ClinicMembership = apps.get_model("accounts", "ClinicMembership")
    User = apps.get_model("accounts", "User")
    name = User.objects.filter(pk=OuterRef("user_id")).values("full_name")[:1]
    ClinicMembership.objects.filter(full_name="").update(full_name=Subquery(name))
    ClinicMembership.objects.filter(joined_at__isnull=True).exclude(
        user__password__startswith=UNUSABLE_PASSWORD_PREFIX
    ).exclude(user__password="").update(joined_at=F("created_at"))


def backwards(apps, schema_editor):
    ClinicMembership = apps.get_model("accounts", "ClinicMembership")
    ClinicMembership.objects.update(full_name="", joined_at=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_clinic_membership_name_and_joined")]

    operations = [migrations.RunPython(forwards, backwards)]
