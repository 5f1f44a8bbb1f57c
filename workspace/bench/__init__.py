"""The CSM workspace benchmark behind `manage.py bench_workspace`: `plan` (the year of playbooks
it writes, pure), `prepare` (writing it), `load` (gunicorn and locust, headless, with the users
of `locustfile`), `report` (locust's percentiles against the targets, as JSON) and `profile`
(one page's queries and plans)."""
