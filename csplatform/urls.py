"""Root URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, reverse_lazy
from django.views.i18n import JavaScriptCatalog

from csplatform.login import LoginView
from operations import views as operations_views
from orgs import views as org_views
from reports import apis as report_apis
from reports.definitions import REPORTS

# Django calls it for any unhandled exception, including one raised by a middleware.
handler500 = "csplatform.errors.server_error"


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the Django admin's)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("", org_views.home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The link of an invitation or a password reset an admin sent (configuration's members).
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_set.html",
            success_url=reverse_lazy("password_set_done"),
        ),
        name="password_set",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_set_done.html"
        ),
        name="password_set_done",
    ),
    path("no-organization/", org_views.no_organization, name="no_organization"),
    path("org/switch/", org_views.switch_organization, name="switch_organization"),
    path("me/language/", org_views.set_language, name="set_language"),
    # The scripts' strings in the request's language (static/js reads window.gettext).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("accounts/", include("accounts.urls")),
    path("health/", include("health.urls")),
    path("journey/", include("lifecycle.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("work/", include("workspace.urls")),
    path("alerts/", include("triggers.urls")),
    path("reports/", include("reports.urls")),
    path("data/", include("api.urls")),
    # The four reports' figures (reports/apis.py), before the api's mount: its catch-all answers
    # any other /api/v1/ path with a JSON 404, and it serves reports/fitness/ and
    # reports/retention-forecast/ itself (no report has those names).
    *(
        path(
            f"api/v1/reports/{name}/",
            report_apis.report_view(name).as_view(),
            name=f"api-report-{name}",
        )
        for name in sorted(REPORTS)
    ),
    path("api/v1/", include("api.api_urls")),
    path("configuration/", include("configuration.urls")),
    path("operations/", include("operations.urls")),
    # The survey links of the emails surveys sends: public, the signed token is the key.
    path("survey/", include("surveys.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    # Readiness: the database and the broker answer (a load balancer's or deploy's check).
    path("healthz/ready", operations_views.healthz_ready, name="healthz_ready"),
    path("favicon.ico", favicon),
]
