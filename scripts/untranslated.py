"""Lists the entries of the translation catalogues still to translate: untranslated (an empty
msgstr) or fuzzy (a guess of makemessages' to be checked). `make messages-update` runs it after
refreshing the catalogues; exit status 1 when there is anything to do.

    python scripts/untranslated.py [locale/pt_BR/LC_MESSAGES/django.po ...]
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header, msgid "", excluded)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish():
        nonlocal entry, started, target
        if started and entry.msgid != "":
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#:"):
            entry.references += line[2:].split()
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            value = ast.literal_eval(rest)
            started = True
            if keyword == "msgid":
                target = ("msgid", 0)
            elif keyword == "msgid_plural":
                target = ("msgid_plural", 0)
                entry.msgid_plural = ""
            elif keyword == "msgctxt":
                target = ("msgctxt", 0)
                entry.msgctxt = ""
            elif keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if "[" in keyword else 0
                while len(entry.msgstr) <= index:
                    entry.msgstr.append("")
                target = ("msgstr", index)
        if target is None:
            continue
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] += value
        else:
            setattr(entry, name, (getattr(entry, name) or "") + value)
    finish()
    return [e for e in entries if not e.obsolete]


def catalogues() -> list[Path]:
    return sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po"))


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or catalogues()
    todo = 0
    for path in paths:
        for e in read_po(path):
            if e.fuzzy or not e.translated:
                todo += 1
                where = e.references[0] if e.references else "?"
                state = "fuzzy" if e.fuzzy else "untranslated"
                shown = path.relative_to(ROOT) if path.is_absolute() else path
                print(f"{shown}: {state}: {where}: {e.msgid!r}")
    print(f"{todo} entr{'y' if todo == 1 else 'ies'} to translate", file=sys.stderr)
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
