"""Invalid health configuration is refused with a message that names the field."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from health.models import HealthModel, Indicator
from tests.builders import indicator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org")]


@pytest.fixture
def model(org):
    return HealthModel.all_objects.create(organization=org, name="M")


def errors_of(obj):
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


def errors_or_none(obj):
    try:
        obj.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return None


def test_valid_indicator_passes(org, model):
    higher = indicator(org, model)
    lower = indicator(
        org, model, measure="tickets_over_sla", direction="lower", bad_value=5, good_value=0
    )
    assert errors_or_none(higher) is None
    assert errors_or_none(lower) is None
    higher.save()
    lower.save()
    stored = Indicator.objects.filter(model=model).order_by("measure")
    assert [(i.measure, i.direction, i.bad_value, i.good_value) for i in stored] == [
        ("tickets_over_sla", "lower", 5, 0),
        ("usage_frequency", "higher", 0, 20),
    ]


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"measure": "vibes"}, "measure", "unknown measure 'vibes'"),
        ({"weight": 0}, "weight", "must be positive"),
        ({"weight": -2}, "weight", "must be positive"),
        ({"bad_value": 20, "good_value": 0}, "good_value", "higher is better"),
        ({"direction": "lower"}, "good_value", "lower is better"),
        ({"bad_value": 5, "good_value": 5}, "good_value", "must differ"),
        ({"measure": "tenure", "window_days": 30}, "window_days", "takes no window"),
        ({"window_days": 0}, "window_days", "between 1 and 730"),
        ({"measure": "renewals", "metric": "logins"}, "metric", "takes no usage metric"),
    ],
)
def test_invalid_indicator_names_the_field(org, model, changes, field, words):
    errors = errors_of(indicator(org, model, **changes))
    assert field in errors, errors
    assert words in " ".join(errors[field])


def test_bands_must_be_ordered(org):
    errors = errors_of(HealthModel(organization=org, name="Bad", red_max=80, yellow_max=60))
    assert "the red band must end below the yellow band" in errors["red_max"][0]
    errors = errors_of(HealthModel(organization=org, name="Bad", red_max=50, yellow_max=100))
    assert "green" in errors["yellow_max"][0]


def test_database_refuses_what_validation_would(org, model):
    with pytest.raises(IntegrityError), transaction.atomic():
        indicator(org, model, weight=0).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthModel.all_objects.create(organization=org, name="B", red_max=70, yellow_max=60)


def test_one_default_model_per_organization(org, model):
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthModel.all_objects.create(organization=org, name="Another default")


def model_page(*, bad_value: str, good_value: str) -> dict:
    """The model's admin page posted with its defaults and one new indicator."""
    return {
        "name": "M",
        "red_max": "50",
        "yellow_max": "75",
        "description": "",
        "indicators-TOTAL_FORMS": "1",
        "indicators-INITIAL_FORMS": "0",
        "indicators-MIN_NUM_FORMS": "0",
        "indicators-MAX_NUM_FORMS": "1000",
        "indicators-0-measure": "usage_frequency",
        "indicators-0-window_days": "",
        "indicators-0-metric": "",
        "indicators-0-direction": "higher",
        "indicators-0-bad_value": bad_value,
        "indicators-0-good_value": good_value,
        "indicators-0-weight": "1",
    }


def test_admin_form_shows_the_error_next_to_the_field(client, org, org_admin, model):
    client.force_login(org_admin)
    url = f"/admin/health/healthmodel/{model.pk}/change/"
    data = model_page(bad_value="10", good_value="2")
    response = client.post(url, data)
    assert response.status_code == 200  # re-rendered with errors, nothing saved
    assert "must be above the bad value" in response.content.decode()
    assert not Indicator.all_objects.filter(model=model).exists()
    data["indicators-0-good_value"] = "20"
    response = client.post(url, data)
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.version == 2  # each change is a new version


def test_admin_saves_are_versions_only_when_what_scores_changed(client, org, org_admin, model):
    client.force_login(org_admin)
    url = f"/admin/health/healthmodel/{model.pk}/change/"
    data = model_page(bad_value="2", good_value="20")
    # a band and a new indicator in one save: one version
    assert client.post(url, {**data, "red_max": "40"}).status_code == 302
    model.refresh_from_db()
    assert (model.version, model.red_max) == (2, 40)
    # saved again as it is, or with a new description: the same version
    (saved,) = Indicator.objects.filter(model=model)
    again = {
        **data,
        "red_max": "40",
        "description": "Usage only",
        "indicators-INITIAL_FORMS": "1",
        "indicators-0-id": str(saved.pk),
        "indicators-0-model": str(model.pk),
    }
    assert client.post(url, again).status_code == 302
    model.refresh_from_db()
    assert (model.version, model.description) == (2, "Usage only")
    # an indicator deleted on its own page: a new version
    response = client.post(f"/admin/health/indicator/{saved.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.version == 3 and not Indicator.objects.filter(model=model).exists()


@pytest.mark.parametrize(
    "measure, window, reach",
    [
        # the usage trend reads its window and the 180 days before it: 186 + 180 = 366 > 365
        ("usage_trend", 186, 366),
        # usage frequency reads its window: 366 days > 365
        ("usage_frequency", 366, 366),
    ],
)
def test_a_window_reading_further_back_than_the_raw_usage_kept_is_refused(
    org, model, settings, measure, window, reach
):
    """With USAGE_RAW_RETENTION_DAYS = 365: one day more than is kept is refused on the
    window, naming both numbers; one day less passes (185 + 180 = 365; 365)."""
    settings.USAGE_RAW_RETENTION_DAYS = 365
    errors = errors_of(indicator(org, model, measure=measure, window_days=window))
    assert f"reads {reach} days of daily usage" in " ".join(errors["window_days"])
    assert "kept for 365 days" in " ".join(errors["window_days"])
    assert errors_or_none(indicator(org, model, measure=measure, window_days=window - 1)) is None
    settings.USAGE_RAW_RETENTION_DAYS = None
    assert errors_or_none(indicator(org, model, measure=measure, window_days=window)) is None
