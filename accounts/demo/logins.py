"""The demo's logins table: who can log in to a demo organization, with which password and role,
as `make demo` prints it last."""

from __future__ import annotations

from .catalogue import DEMO_PASSWORD, DEMO_USERS


def demo_logins(org) -> list[tuple[str, str, str]]:
    """(login, role, full name) of the organization's members, admins first."""
    from orgs.models import Membership

    order = {u.role: i for i, u in reversed(list(enumerate(DEMO_USERS)))}
    rows = [
        (m.user.username, m.role, m.user.get_full_name())
        for m in Membership.objects.filter(organization=org).select_related("user")
    ]
    return sorted(rows, key=lambda r: (order.get(r[1], 99), len(r[0]), r[0]))


def demo_logins_lines(org, url: str | None = None) -> list[str]:
    """The logins block `make demo` ends with: where the site is, then one line per member
    ("  <login>  <password>  <role>  <name>"); seed_demo and demo_backfill print it."""
    rows = demo_logins(org)
    width = max([len("login"), *(len(r[0]) for r in rows)])
    pw = max(len("password"), len(DEMO_PASSWORD))
    lines = [""]
    if url:
        lines.append(f"The demo is served at {url}")
    lines.append(f"Logins for {org.name} (password for all: {DEMO_PASSWORD}):")
    lines.append(f"  {'login':<{width}}  {'password':<{pw}}  {'role':<8}  name")
    lines += [
        f"  {login:<{width}}  {DEMO_PASSWORD:<{pw}}  {role:<8}  {name}"
        for login, role, name in rows
    ]
    return lines
