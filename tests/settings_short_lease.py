"""The test settings with a 4-second chunk lease, for the worker processes of the dead-worker
test (tests/triggers/test_night_faults.py)."""

from csplatform.settings.test import *  # noqa: F403

NIGHTLY_CHUNK_LEASE_SECONDS = 4
