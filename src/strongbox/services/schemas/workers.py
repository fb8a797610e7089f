"""What is shown of a process that runs jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class WorkerOut(BaseModel):
    name: str = Field(description="what it claims jobs with (`claimed_by`): host:pid:random")
    kind: Literal["serve", "worker"] = Field(
        description="`serve`: the threads of a `strongbox serve`; `worker`: a `strongbox worker`"
    )
    queues: list[str] = Field(
        description="the worker queues it consumes; empty for `serve`, whose threads run the "
        "jobs it hands them"
    )
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_seconds: float = Field(description="seconds since its last heartbeat")
    lost: bool = Field(
        description="its heartbeat is older than STRONGBOX_JOB_LOST_AFTER: it stopped without "
        "leaving (killed, host gone); the leader forgets it after a day"
    )
