"""The data-in-and-out page app: the REST API under /api/v1/, CSV imports, exports and
outgoing webhooks. It connects the hooks the layers below offer (firings created, alerts
decided, playbooks created, closed or reassigned, health colours changed) to its webhooks;
no lower layer imports it."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Data in and out"

    def ready(self):
        from . import hooks, tasks  # noqa: F401 (tasks: registered for enqueue by name)

        hooks.connect()
