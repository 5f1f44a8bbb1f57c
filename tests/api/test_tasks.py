"""The data app's Celery tasks on a real Redis broker and a real worker: a failing webhook
delivery is retried with backoff until the receiver takes it, and a large CSV import runs in
the worker while the page reads its progress."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from api import webhooks
from api.models import ImportJob, WebhookDelivery
from tests import factories as f
from tests.api.receiver import Receiver
from tests.builders import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_failing_delivery_is_retried_with_backoff_by_the_worker(
    org, monkeypatch, celery_worker_factory
):
    """The receiver answers 500, 502, then 200: three attempts, the second about 1 s after
    the first and the third about 3 s after the second (WEBHOOK_RETRY_SECONDS=1, times 3)."""
    monkeypatch.setenv("CSPLATFORM_WEBHOOK_RETRY_SECONDS", "1")
    celery_worker_factory()
    receiver = Receiver(statuses=[500, 502]).start()
    try:
        from api.services import webhook_create

        admin = f.UserFactory(username="hook-admin")
        endpoint = webhook_create(
            org=org, url=receiver.url, events=["playbook.closed"], description="", created_by=admin
        )
        with transaction.atomic():
            (delivery_id,) = webhooks.deliveries_create(
                org_id=org.pk, event="playbook.closed", payloads=[{"id": 7}]
            )
        assert wait_for(
            lambda: WebhookDelivery.all_objects.get(pk=delivery_id).status == "succeeded"
        ), WebhookDelivery.all_objects.get(pk=delivery_id).__dict__
        delivery = WebhookDelivery.all_objects.get(pk=delivery_id)
        assert (delivery.attempts, delivery.response_status) == (3, 200)
        assert len(receiver.received) == 3
        assert all(receiver.signature_ok(r, endpoint.secret) for r in receiver.received)
        first, second, third = (r.at for r in receiver.received)
        assert 0.9 <= second - first < 10
        assert 2.9 <= third - second < 15
    finally:
        receiver.stop()


def test_a_large_import_runs_in_the_worker(client, org, analyst, settings, celery_worker):
    settings.IMPORT_INLINE_ROWS = 0  # every file goes to the worker
    f.AccountFactory(organization=org, external_id="A1")
    rows = "\n".join(f"A1;logins;{1 + d % 28:02d}/{1 + d // 28:02d}/2024;{d}" for d in range(300))
    upload = SimpleUploadedFile("usage.csv", f"account;metric;date;value\n{rows}\n".encode())
    client.force_login(analyst)
    client.post("/data/imports/", {"kind": "usage", "file": upload})
    job = ImportJob.all_objects.get()
    form = {
        "encoding": job.encoding,
        "delimiter": ";",
        "decimal": ",",
        "date_order": "dmy",
        **{f"col_{i}": job.mapping.get(h, "") for i, h in enumerate(job.headers)},
    }
    client.post(f"/data/imports/{job.pk}/", form)
    assert wait_for(lambda: ImportJob.all_objects.get(pk=job.pk).state == "valid")
    client.post(f"/data/imports/{job.pk}/run/")
    assert wait_for(lambda: ImportJob.all_objects.get(pk=job.pk).state == "done")
    job.refresh_from_db()
    assert (job.created, job.rows_total) == (300, 300)
    status = client.get(f"/data/imports/{job.pk}/?section=status", HTTP_HX_REQUEST="true")
    assert "Imported" in status.content.decode()
