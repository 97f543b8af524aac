from django.db import migrations


def seed(apps, schema_editor):
    from tickets.seed.appeal_types import appeal_types_seed

    appeal_types_seed(apps.get_model("tickets", "AppealType"))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
