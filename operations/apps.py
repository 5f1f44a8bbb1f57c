"""Operations: the pages operators and admins read to see how the platform's jobs are doing
(the nightly pipeline's status), the readiness check, and the banner of a troubled night on
the admins' home. A page app: it reads the layers below, and no layer imports it."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
