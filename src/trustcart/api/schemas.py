"""Response bodies shared by all routers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx answer: a stable code, a sentence saying what to fix, and optional details."""

    error: str = Field(examples=["validation_error"])
    message: str = Field(examples=["body.name: field required"])
    details: Any = None


class Health(BaseModel):
    """Liveness and the backend in use (no personal data)."""

    status: str
    version: str
    database: str
