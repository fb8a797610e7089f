"""The shapes of what goes in and out of the use cases; the REST API uses them as they are.

One module per resource; every model is importable from here too. A storage kind's models are
declared by the kind (`strongbox.storage.registry` builds the request union and the update and
output models). Input models forbid unknown
fields, so a typo is an error rather than silently ignored.
"""

from strongbox.services.schemas.backups import (
    ArtifactOut,
    BackupCreate,
    BackupOut,
    BackupSourceUsed,
    SourceLoad,
)
from strongbox.services.schemas.databases import (
    BackupSourceAddress,
    BackupSourceOut,
    DatabaseCreate,
    DatabaseOut,
    DatabaseUpdate,
)
from strongbox.services.schemas.imports import ImportOut, ImportRefusal, ImportRequest
from strongbox.services.schemas.pitr import GapOut, PitrOut, PitrUpdate, WindowOut
from strongbox.services.schemas.restores import (
    PlannedArtifact,
    RestoreCreate,
    RestoredDatabase,
    RestoreOut,
    RestorePlanOut,
)
from strongbox.services.schemas.schedules import (
    SCHEDULE_NAME_MAX,
    CronLine,
    EstimateOut,
    LastRun,
    Overlap,
    ScheduleCreate,
    ScheduleName,
    ScheduleOut,
    ScheduleRunOut,
    ScheduleUpdate,
    ScheduleWarningOut,
    TimeZone,
)
from strongbox.services.schemas.shared import LIST_MAX, Input, PemBundle, SslMode
from strongbox.services.schemas.workers import WorkerOut

__all__ = [
    "LIST_MAX",
    "SCHEDULE_NAME_MAX",
    "ArtifactOut",
    "BackupCreate",
    "BackupOut",
    "BackupSourceAddress",
    "BackupSourceOut",
    "BackupSourceUsed",
    "CronLine",
    "DatabaseCreate",
    "DatabaseOut",
    "DatabaseUpdate",
    "EstimateOut",
    "GapOut",
    "ImportOut",
    "ImportRefusal",
    "ImportRequest",
    "Input",
    "LastRun",
    "Overlap",
    "PemBundle",
    "PitrOut",
    "PitrUpdate",
    "PlannedArtifact",
    "RestoreCreate",
    "RestoreOut",
    "RestorePlanOut",
    "RestoredDatabase",
    "ScheduleCreate",
    "ScheduleName",
    "ScheduleOut",
    "ScheduleRunOut",
    "ScheduleUpdate",
    "ScheduleWarningOut",
    "SourceLoad",
    "SslMode",
    "TimeZone",
    "WindowOut",
    "WorkerOut",
]
