"""Alert notifications link to /alerts/ (the triggers app's own URLs) instead of the old
/playbooks/alerts/, which no longer exists; both lead to My Work."""

from django.db import migrations


def relink(apps, schema_editor):
    Notification = apps.get_model("playbooks", "Notification")
    # Every organization's rows on purpose: the path moved for all of them.
    Notification._base_manager.filter(kind="alert_raised", url="/playbooks/alerts/").update(
        url="/alerts/"
    )


def unlink(apps, schema_editor):
    Notification = apps.get_model("playbooks", "Notification")
    Notification._base_manager.filter(kind="alert_raised", url="/alerts/").update(
        url="/playbooks/alerts/"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("triggers", "0003_triggerrun_problems"),
        ("playbooks", "0007_notification_digest_claim"),
    ]

    operations = [migrations.RunPython(relink, unlink)]
