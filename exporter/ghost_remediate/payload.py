"""Alertmanager's webhook notification (version 4), as documented for ``webhook_config``.

Fields Alertmanager may add later are ignored; what is used is checked. Nothing in a payload
ever chooses an action: only label values that a rule allows fill its placeholders.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: Most alerts accepted in one notification (Alertmanager's ``max_alerts`` defaults to all).
MAX_ALERTS: Final = 1000
#: Largest request body accepted, in bytes.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024

Labels = dict[Annotated[str, Field(max_length=1024)], Annotated[str, Field(max_length=16384)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Alert(_Model):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: str = Field(alias="startsAt", max_length=64)
    ends_at: str = Field(default="", alias="endsAt", max_length=64)
    generator_url: str = Field(default="", alias="generatorURL", max_length=4096)
    fingerprint: str = Field(default="", max_length=128)

    @property
    def key(self) -> tuple[str, str]:
        """(fingerprint, startsAt): the same alert instance in every repeated notification.
        Without a fingerprint (older senders), a hash of the sorted labels stands in."""
        fingerprint = self.fingerprint
        if not fingerprint:
            text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(self.labels.items()))
            fingerprint = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        return fingerprint, self.starts_at

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class Notification(_Model):
    version: Literal["4"]
    group_key: str = Field(default="", alias="groupKey", max_length=16384)
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=1024)
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=4096)
    alerts: Annotated[list[Alert], Field(max_length=MAX_ALERTS)]


class PayloadError(ValueError):
    """Not an Alertmanager version 4 notification; the message says where."""


def parse_notification(data: object) -> Notification:
    try:
        return Notification.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PayloadError(f"{where}: {first['msg']}{more}") from None
