"""Playbook pages (the CSM workspace builds on these)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from orgs.permissions import org_required

from .models import Playbook


@org_required
def playbook_detail(request, pk):
    playbook = get_object_or_404(Playbook.objects, pk=pk)
    return HttpResponse(playbook.title)
