"""Surveys the platform sends (NPS and CSAT campaigns, invitations, the public answer page)
and the loop they close (a follow-up playbook for a detractor)."""

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
