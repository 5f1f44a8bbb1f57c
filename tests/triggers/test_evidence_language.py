"""Evidence is stored as data (each sentence's msgid and values) beside the text written at
night, and rendered in the reader's language: a firing recorded in English reads in
Portuguese; a row from before, with its text only, reads as it was written."""

import pytest
from django.utils import translation

from conditions.phrases import PHRASES_KEY, evidence_sentences, render_phrase
from tests.builders import DAY, trigger_world
from triggers import services as trigger_services
from triggers.models import Firing

pytestmark = pytest.mark.django_db


def test_a_stored_phrase_renders_in_each_language():
    record = {
        "s": "%(value)s overdue invoice",
        "p": "%(value)s overdue invoices",
        "a": {"value": "2", "count": 2},
    }
    with translation.override("en"):
        assert render_phrase(record) == "2 overdue invoices"
    with translation.override("pt-br"):
        assert render_phrase(record) == "2 faturas em atraso"
        assert render_phrase({**record, "a": {"value": "1", "count": 1}}) == "1 fatura em atraso"


def test_a_choice_value_is_translated_too():
    record = {
        "s": "Health is %(value)s (%(health_score)s)",
        "a": {"value": {"s": "red"}, "health_score": "43"},
    }
    with translation.override("pt-br"):
        assert render_phrase(record) == "A saúde está vermelho (43)"


def test_a_firing_recorded_in_english_reads_in_portuguese(org, csm, manager, in_org):
    """Charlie scores 43 (red) and the retention trigger's first comparison is health_score
    < 51; Echo's invoice is 41 days overdue (> 30)."""
    world = trigger_world(org, csm, manager)
    with translation.override("en"):
        trigger_services.triggers_evaluate(org=org, day=DAY)
    retention = world["triggers"]["retention"]
    charlie = Firing.objects.get(trigger=retention, account=world["accounts"]["c"])
    assert charlie.evidence_text == "The health score is 43"
    assert charlie.evidence[PHRASES_KEY] == [
        {
            "s": "The health score is %(value)s",
            "a": {"label": "Health score", "value": "43", "count": 43},
        }
    ]
    with translation.override("pt-br"):
        assert evidence_sentences(text=charlie.evidence_text, evidence=charlie.evidence) == [
            "A nota de saúde é 43"
        ]
        echo = Firing.objects.get(trigger=retention, account=world["accounts"]["e"])
        assert evidence_sentences(text=echo.evidence_text, evidence=echo.evidence) == [
            "A fatura não paga mais antiga está 41 dias em atraso"
        ]
    with translation.override("en"):
        assert evidence_sentences(text=charlie.evidence_text, evidence=charlie.evidence) == [
            "The health score is 43"
        ]


def test_an_old_row_without_phrases_reads_as_written():
    with translation.override("pt-br"):
        assert evidence_sentences(text="Health is red (36); MRR is 900", evidence={"x": 1}) == [
            "Health is red (36)",
            "MRR is 900",
        ]
        assert evidence_sentences(text="", evidence=None) == []


def test_the_figures_of_a_stored_sentence_read_in_the_readers_formats():
    """Stored as the night wrote it ("12.5", "1,234", 30), read in a pt-BR organization:
    12.5 → "12,5", 1,234 → "1.234" (the decimals kept as stored); the count still picks
    the plural. An English organization reads them unchanged."""
    from orgs import formatting

    fell = {
        "s": "Usage fell %(value)s%% over %(window)s days",
        "a": {"value": "12.5", "window": 30, "count": 12},
    }
    overdue = {
        "s": "%(value)s overdue invoice",
        "p": "%(value)s overdue invoices",
        "a": {"value": "1,234", "count": 1234},
    }
    token = formatting.activate(locale="pt-br", currency="BRL")
    try:
        with translation.override("pt-br"):
            assert render_phrase(fell, localize=formatting.localize_figure) == (
                "O uso caiu 12,5% em 30 dias"
            )
            assert evidence_sentences(
                text="", evidence={PHRASES_KEY: [overdue]}, localize=formatting.localize_figure
            ) == ["1.234 faturas em atraso"]
    finally:
        formatting.deactivate(token)
    token = formatting.activate(locale="en", currency="USD")
    try:
        with translation.override("en"):
            assert render_phrase(fell, localize=formatting.localize_figure) == (
                "Usage fell 12.5% over 30 days"
            )
    finally:
        formatting.deactivate(token)
