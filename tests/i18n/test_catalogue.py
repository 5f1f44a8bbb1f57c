"""The Brazilian Portuguese catalogue is complete: no untranslated and no fuzzy entry, every
msgid the code marks today is in it (makemessages run on a copy of the tree), and each
translation keeps its msgid's placeholders, so no page fails formatting in Portuguese."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(ROOT.glob("locale/pt_BR/LC_MESSAGES/*.po"))
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0+]*\d*(?:\.\d+)?([sdifr])")


def _untranslated_module():
    spec = importlib.util.spec_from_file_location("untranslated", ROOT / "scripts/untranslated.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["untranslated"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


read_po = _untranslated_module().read_po


def test_there_are_both_catalogues():
    assert [p.name for p in CATALOGUES] == ["django.po", "djangojs.po"]


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.name)
def test_no_entry_is_untranslated_or_fuzzy(po):
    entries = read_po(po)
    assert len(entries) > (1000 if po.name == "django.po" else 10)
    todo = [e.msgid for e in entries if e.fuzzy or not e.translated]
    assert todo == []
    # and msgfmt, which compiles it for the site, agrees (and checks python-format)
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr


BRACES = re.compile(r"\{(\w*)(?:[:!][^{}]*)?\}")


def _placeholders(text: str) -> list:
    """%(name)s and %s placeholders, and str.format's {name:spec} (the measures' phrases)."""
    return sorted(PLACEHOLDER.findall(text.replace("%%", ""))) + sorted(BRACES.findall(text))


def test_placeholders_match_between_msgid_and_msgstr():
    """'%(n)s contas' for '%(n)s accounts': the same names and conversions. A plural's first
    form may leave the count out when it is one ("A linha é válida." for "The row is valid.")
    only if the English singular does too."""
    wrong = []
    for po in CATALOGUES:
        for e in read_po(po):
            sources = [e.msgid] if e.msgid_plural is None else [e.msgid, e.msgid_plural]
            for i, text in enumerate(e.msgstr):
                source = sources[min(i, len(sources) - 1)]
                if _placeholders(text) != _placeholders(source):
                    wrong.append((e.msgid, text))
    assert wrong == []


def test_makemessages_finds_no_msgid_missing_from_the_catalogue(tmp_path):
    """makemessages on a copy of the tree (its own locale/ empty) finds the msgids the code
    marks today; each must already be in the committed catalogue."""
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns(
        ".venv", "var", "staticfiles", "test-artifacts", ".git", "__pycache__", "*.mo", "*.po"
    )
    shutil.copytree(ROOT, copy, ignore=ignore)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "csplatform.settings.test"}
    ignores = []
    for pattern in (".venv/*", "var/*", "staticfiles/*", "tests/*", "static/vendor/*"):
        ignores += ["-i", pattern]
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "pt_BR", "-d", domain, *ignores],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
        fresh = {e.msgid for e in read_po(copy / f"locale/pt_BR/LC_MESSAGES/{domain}.po")}
        committed = {e.msgid for e in read_po(ROOT / f"locale/pt_BR/LC_MESSAGES/{domain}.po")}
        assert fresh, domain
        assert sorted(fresh - committed) == [], f"run `make messages-update` ({domain})"
