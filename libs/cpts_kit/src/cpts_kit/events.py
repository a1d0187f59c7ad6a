"""CloudEvents 1.0 envelope (structured JSON mode) and the base class of event payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cpts_kit.db import utcnow


class EventPayload(BaseModel):
    """Data of one event type. Subclasses set ``event_type`` (``fr.cpts.<svc>.<entity>.<verb>.vN``)."""

    model_config = ConfigDict(extra="forbid")
    event_type: ClassVar[str]


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @classmethod
    def of(cls, source: str, subject: str, payload: EventPayload) -> CloudEvent:
        return cls(source=source, type=payload.event_type, subject=subject, data=payload.model_dump(mode="json"))

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)
