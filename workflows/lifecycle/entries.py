"""What a case remembers of its correctable entries (``workflows.lifecycle.corrections``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Entry(BaseModel):
    """A correctable entry: its event type and what it is about (a goal, a session...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    about: str | None = None
