"""Workspace connects no hook: it reads the layers below for the pages CSMs work in."""

from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "workspace"
    verbose_name = "CSM workspace"
