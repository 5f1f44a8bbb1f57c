"""The CSM workspace benchmark behind `manage.py bench_workspace`: `plan` (the year of playbooks
it writes, pure), `prepare` (writing it) and `profile` (one page's queries and plans)."""
