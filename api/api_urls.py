"""The REST API, mounted at /api/v1/: the record kinds, the computed reads, and the
OpenAPI schema with its docs (Swagger UI from our own static files)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import apis, views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.api_docs, name="docs"),
]

for res in apis.RESOURCES:
    made = apis.resource_views(res)
    key = res.kind.key[0]
    urlpatterns += [
        path(f"{res.path}/", made["list"].as_view(), name=res.path),
        path(f"{res.path}/bulk/", made["bulk"].as_view(), name=f"{res.path}-bulk"),
        path(f"{res.path}/<int:pk>/", made["detail"].as_view(), name=f"{res.path}-detail"),
    ]
    if "by_key" in made:
        urlpatterns.append(
            path(
                f"{res.path}/by-{key.replace('_', '-')}/<str:value>/",
                made["by_key"].as_view(),
                name=f"{res.path}-by-key",
            )
        )

urlpatterns += [
    path("health/scores/", apis.HealthScoreList.as_view(), name="health-scores"),
    path("health/scores/explain/", apis.ScoreExplanation.as_view(), name="health-explain"),
    path("health/scores/<int:pk>/", apis.HealthScoreDetail.as_view(), name="health-score"),
    path("firings/", apis.FiringList.as_view(), name="firings"),
    path("firings/<int:pk>/", apis.FiringDetail.as_view(), name="firing"),
    path("alerts/", apis.AlertList.as_view(), name="alerts"),
    path("alerts/<int:pk>/", apis.AlertDetail.as_view(), name="alert"),
    path("playbooks/", apis.PlaybookList.as_view(), name="playbooks"),
    path("playbooks/<int:pk>/", apis.PlaybookDetail.as_view(), name="playbook"),
    path("reports/fitness/", apis.FitnessReport.as_view(), name="report-fitness"),
    path("reports/retention-forecast/", apis.ForecastReport.as_view(), name="report-forecast"),
]

# Anything else under /api/v1/ is a JSON 404, not the site's HTML page.
urlpatterns.append(re_path(r"^", views.api_not_found, name="not-found"))
