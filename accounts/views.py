"""Portfolio pages (placeholder until the UI lands)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from orgs.permissions import org_required

from .models import Account


@org_required
def portfolio(request):
    return HttpResponse("portfolio")


@org_required
def account_detail(request, pk):
    account = get_object_or_404(Account.objects, pk=pk)
    return HttpResponse(account.name)
