"""At most one open playbook per account and template (a partial unique index; the duplicates
were cancelled by 0003), and the notification that asks a playbook's owner for its outcome
once every step is done."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0003_cancel_duplicate_and_churned_open_playbooks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("playbook_assigned", "Playbook assigned"),
                    ("alert_raised", "Alert raised"),
                    ("trigger_problem", "Trigger skipped"),
                    ("persona_problem", "Persona not refreshed"),
                    ("outcome_due", "All steps done: outcome to record"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="playbook",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open"), ("template__isnull", False)),
                fields=("organization", "account", "template"),
                name="playbook_one_open_per_template",
            ),
        ),
    ]
