"""The digest's claim on the notifications it is about to send: the mails go out after the
claim commits, and a digest running at the same time leaves the claimed rows alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0006_notification_links_stay_on_the_site"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="digest_claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
