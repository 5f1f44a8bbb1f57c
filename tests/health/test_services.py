"""Health model edits through the services: validated, written only where something changed,
and a new version (recorded on every score from then on) exactly when what scores changed."""

import pytest
from django.core.exceptions import ValidationError

from health import services
from health.models import HealthModel, Indicator
from health.services import IndicatorChanges
from tests import factories as f
from tests.builders import DAY, active_days, indicator, simple_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org")]


@pytest.fixture
def model(org):
    return simple_model(org)


def version(model):
    return HealthModel.objects.values_list("version", flat=True).get(pk=model.pk)


def tenure_indicator(org, model, **kw) -> Indicator:
    """An unsaved tenure indicator (0 days scores 0, two years 100)."""
    return indicator(org, model, **{"measure": "tenure", "good_value": 720, **kw})


def test_a_new_model_and_its_indicators_start_at_version_one(org):
    new = HealthModel(organization=org, name="New", version=4)
    services.health_model_create(model=new, indicators=[tenure_indicator(org, new)])
    assert version(new) == 1
    assert list(Indicator.objects.filter(model=new).values_list("measure", flat=True)) == ["tenure"]


def test_an_invalid_new_model_writes_nothing(org):
    bad = HealthModel(organization=org, name="Bad", red_max=80, yellow_max=60)
    with pytest.raises(ValidationError):
        services.health_model_create(model=bad, indicators=[tenure_indicator(org, bad)])
    assert not HealthModel.objects.filter(name="Bad").exists()
    assert not Indicator.objects.filter(measure="tenure").exists()


@pytest.mark.parametrize(
    "data, new_version",
    [
        ({"name": "Renamed"}, 1),
        ({"description": "What it measures"}, 1),
        ({"red_max": 40}, 2),
        ({"yellow_max": 80}, 2),
        ({"name": "Simple", "red_max": 50, "yellow_max": 75, "description": ""}, 1),
    ],
)
def test_a_new_version_when_the_bands_change_not_the_name(model, data, new_version):
    services.health_model_update(model=model, data=data)
    model.refresh_from_db()
    assert model.version == new_version
    assert {name: getattr(model, name) for name in data} == data


def test_another_persona_is_a_new_version(org, model):
    persona = f.PersonaFactory(organization=org)
    services.health_model_update(model=model, data={"persona": persona})
    assert version(model) == 2


def test_each_change_to_the_indicators_is_a_new_version(org, model):
    services.health_model_update(
        model=model, data={}, indicators=IndicatorChanges(saved=[tenure_indicator(org, model)])
    )
    assert version(model) == 2
    tenure = Indicator.objects.get(model=model, measure="tenure")
    tenure.weight = 3
    services.health_model_update(model=model, data={}, indicators=IndicatorChanges(saved=[tenure]))
    assert version(model) == 3
    assert Indicator.objects.get(pk=tenure.pk).weight == 3
    services.health_model_update(
        model=model, data={}, indicators=IndicatorChanges(deleted=[tenure])
    )
    assert version(model) == 4
    assert not Indicator.objects.filter(pk=tenure.pk).exists()


def test_rows_saved_as_they_are_stored_change_nothing(model):
    stored = list(Indicator.objects.filter(model=model))
    services.health_model_update(
        model=model, data={"name": model.name}, indicators=IndicatorChanges(saved=stored)
    )
    assert version(model) == 1


def test_one_save_of_bands_and_indicators_is_one_version(org, model):
    frequency = Indicator.objects.get(model=model)
    frequency.good_value = 8
    services.health_model_update(
        model=model,
        data={"red_max": 45, "name": "Sharper"},
        indicators=IndicatorChanges(saved=[frequency, tenure_indicator(org, model)]),
    )
    model.refresh_from_db()
    assert (model.version, model.red_max, model.name) == (2, 45, "Sharper")
    assert Indicator.objects.filter(model=model).count() == 2


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"weight": 0}, "must be positive"),
        ({"measure": "vibes"}, "unknown measure"),
        ({"measure": "usage_frequency", "window_days": 10, "metric": "logins"}, "already has"),
    ],
)
def test_an_invalid_indicator_writes_nothing(org, model, changes, words):
    with pytest.raises(ValidationError) as exc:
        services.health_model_update(
            model=model,
            data={"red_max": 30},
            indicators=IndicatorChanges(saved=[tenure_indicator(org, model, **changes)]),
        )
    assert words in str(exc.value)
    model.refresh_from_db()
    assert (model.version, model.red_max) == (1, 50)
    assert Indicator.objects.filter(model=model).count() == 1


def test_an_indicator_saved_on_its_own_versions_its_model_and_the_one_it_left(org, model):
    other = HealthModel.objects.create(
        organization=org, name="Other", persona=f.PersonaFactory(organization=org)
    )
    tenure = services.indicator_save(indicator=tenure_indicator(org, model))
    assert version(model) == 2
    services.indicator_save(indicator=tenure)  # as it is stored: nothing
    assert version(model) == 2
    tenure.model = other
    services.indicator_save(indicator=tenure)
    assert (version(model), version(other)) == (3, 2)
    with pytest.raises(ValidationError):
        services.indicator_save(indicator=tenure_indicator(org, other, bad_value=5, good_value=5))
    assert version(other) == 2


def test_deleted_indicators_version_their_models(org, model):
    tenure = services.indicator_save(indicator=tenure_indicator(org, model))
    assert services.indicators_delete(indicators=[tenure]) == 1
    assert version(model) == 3
    assert Indicator.objects.filter(model=model).count() == 1


def test_scores_record_the_version_that_made_them(org, model):
    account = f.AccountFactory(organization=org)
    active_days(org, account, 5)
    services.health_model_update(model=model, data={"red_max": 40})
    services.health_score_day(org=org, day=DAY)
    score = account.health_scores.get(date=DAY)
    assert (score.model_id, score.model_version) == (model.pk, 2)
