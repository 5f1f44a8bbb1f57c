from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self):
        from accounts.signals import account_owner_changed

        account_owner_changed.connect(_handover, dispatch_uid="playbooks-handover")


def _handover(sender, account, previous_owner_id, acting_user, **kwargs):
    """Accounts offers the hook; the playbooks layer moves what was open."""
    from .services import playbooks_handover

    playbooks_handover(
        account_id=account.pk, previous_owner_id=previous_owner_id, owner_id=account.owner_id
    )
