# A notification keeps its text as data (`phrase`: msgid and values) so it reads in each
# reader's language; a playbook started by hand keeps who started it, not an English sentence.

from django.db import migrations, models
from django.db.models.functions import Substr

PREFIX = "started by "


def origin_labels_to_names(apps, schema_editor):
    """ "started by Alice" → "Alice" on playbooks started by hand (the page now says
    "started by" in the reader's language). One UPDATE over every organization."""
    Playbook = apps.get_model("playbooks", "Playbook")
    Playbook._base_manager.filter(origin="manual", origin_label__startswith=PREFIX).update(
        origin_label=Substr("origin_label", len(PREFIX) + 1)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0011_template_step_named_member"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="phrase",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(origin_labels_to_names, migrations.RunPython.noop),
    ]
