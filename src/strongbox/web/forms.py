"""Turn the page's HTML forms into the services' input models, and errors into messages per field.

Form fields are named like the model's fields (`bucket`, `frequency.time`,
`production_hours.start`), so that a pydantic error location or a `StrongboxError` field
(`body.bucket`) maps straight onto the input it is about. Messages are worded as the API's
problem details word them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import ImmutableMultiDict

from strongbox.errors import StrongboxError
from strongbox.services import storage_kinds as registry
from strongbox.services.schemas import (
    BackupCreate,
    DatabaseCreate,
    PitrUpdate,
    RestoreCreate,
    ScheduleCreate,
    ScheduleUpdate,
)
from strongbox.services.schemas.errors import field_message

T = TypeVar("T")
REPEATS = ("hour", "day", "week", "month", "cron")


# What a form gives: Starlette's FormData, or a MultiDict in tests.
FormLike = ImmutableMultiDict[str, Any]


@dataclass
class FormErrors:
    """Messages per form field, and one for the whole form (e.g. the server's refusal)."""

    fields: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.message)


class FormInvalid(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__(errors.message or "; ".join(errors.fields.values()))
        self.errors = errors


class Refusal:
    """Catches, inside a `with` block, the form's refusal (FormInvalid) or the service's
    (StrongboxError) and keeps it as messages per field; any other error goes on.

        with forms.Refusal() as refused:
            backups.create(ctx, database, forms.backup_create(form))
        if refused.errors:
            return render(..., errors=refused.errors)
    """

    def __init__(self) -> None:
        self.errors: FormErrors | None = None

    def __enter__(self) -> Refusal:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> bool:
        if isinstance(exc, FormInvalid):
            self.errors = exc.errors
        elif isinstance(exc, StrongboxError):
            self.errors = from_error(exc)
        return self.errors is not None


def text(form: FormLike, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _put(data: dict[str, Any], key: str, value: str) -> None:
    """Set `key` only when the field was filled, so that the model's default applies."""
    if value != "":
        data[key] = value


def form_field(path: str) -> str:
    """The form field of an error's dotted field: the API's `body.` prefix dropped, and the
    index of an item of a list (the box holds the whole list).

    >>> form_field("body.storage"), form_field("frequency.time"), form_field("")
    ('storage', 'frequency.time', '')
    >>> form_field("body.age_recipients.1")
    'age_recipients'
    """
    name = path.removeprefix("body.")
    head, _, last = name.rpartition(".")
    return head if head and last.isdigit() else name


def from_validation(exc: ValidationError) -> FormErrors:
    errors = FormErrors()
    general: list[str] = []
    for error in exc.errors():
        described = field_message(error)
        name = form_field(described.field)
        if name:
            errors.fields.setdefault(name, described.message)
        else:
            general.append(described.message)
    if general:
        errors.message = "; ".join(general)
    return errors


def from_error(exc: StrongboxError) -> FormErrors:
    """The service's refusal: on its fields when it names them, and always as the form message."""
    errors = FormErrors(message=exc.detail)
    for item in exc.errors:
        errors.fields.setdefault(form_field(item.field), item.message)
    return errors


def validate(build: Callable[[], T]) -> T:
    """Run `build` (which makes a model); raise FormInvalid with the messages per field."""
    try:
        return build()
    except ValidationError as exc:
        raise FormInvalid(from_validation(exc)) from None
    except StrongboxError as exc:
        raise FormInvalid(from_error(exc)) from None


def recipients(form: FormLike) -> list[str]:
    """The age recipients of the "Age recipients" box: one per line (or separated by spaces).

    >>> from starlette.datastructures import MultiDict
    >>> recipients(MultiDict({"age_recipients": " age1a  age1b "}))
    ['age1a', 'age1b']
    """
    return str(form.get("age_recipients") or "").split()


# ---- storages --------------------------------------------------------------------------------


def storage_create(form: FormLike) -> Any:
    """The create model of the chosen kind, from the "Add backup storage" form whose inputs
    are the kind's `form_fields`.

    >>> from starlette.datastructures import MultiDict
    >>> storage_create(MultiDict({"type": "filesystem", "name": "disk", "path": "/b"})).path
    '/b'
    """
    kind = text(form, "type")
    data: dict[str, Any] = {"type": kind, "name": text(form, "name")}
    _put(data, "description", text(form, "description"))
    if recipients(form):  # a kind declared elsewhere may not take them: sent only when given
        data["age_recipients"] = recipients(form)
    fields = next((k.form_fields for k in registry.kinds() if k.name == kind), ())
    for spec in fields:
        if spec.widget == "checkbox":
            data[spec.name] = bool(form.get(spec.name))
        elif spec.widget == "password":
            # Sent as typed (even empty), so that a missing secret is named as such.
            data[spec.name] = form.get(spec.name) or ""
        else:
            _put(data, spec.name, text(form, spec.name))
    adapter: TypeAdapter[Any] = TypeAdapter(registry.create_union())
    return validate(lambda: adapter.validate_python(data))


def storage_update(form: FormLike, kind: str) -> Any:
    """Changes (the registry's update model) from the edit form of a storage of `kind`."""
    data: dict[str, Any] = {"description": text(form, "description")}
    if form.get("age_recipients") is not None:  # the box is on the page: empty clears the list
        data["age_recipients"] = recipients(form)
    for spec in registry.kind_named(kind).form_fields:
        _put_change(data, spec, form)
    model = registry.update_model()
    return validate(lambda: model.model_validate(data))


def _put_change(data: dict[str, Any], spec: registry.FormField, form: FormLike) -> None:
    if spec.widget == "checkbox":
        data[spec.name] = bool(form.get(spec.name))
        return
    # A password is never shown back, so its input starts empty: empty keeps the stored one.
    value = (form.get(spec.name) or "") if spec.widget == "password" else text(form, spec.name)
    if value != "":
        data[spec.name] = value
    elif spec.when_empty == "clear":
        # The field shows the stored value (a CA bundle); emptying it removes the value.
        data[spec.name] = None
    elif spec.when_empty == "blank":
        data[spec.name] = ""


# ---- databases -------------------------------------------------------------------------------


def database_create(form: FormLike) -> DatabaseCreate:
    """DatabaseCreate from the "Add database" form; production hours only when ticked.

    >>> from starlette.datastructures import MultiDict
    >>> db = database_create(MultiDict([("name", "shop"), ("engine", "postgresql"),
    ...     ("host", "h"), ("username", "u"), ("databases", "a, b"), ("has_production_hours", "on"),
    ...     ("production_hours.days", "mon"), ("production_hours.start", "08:00"),
    ...     ("production_hours.end", "20:00"), ("production_hours.timezone", "UTC")]))
    >>> db.databases, db.production_hours.describe()
    (['a', 'b'], 'Monday, 08:00 to 20:00 UTC')
    """
    data: dict[str, Any] = {"engine": text(form, "engine")}
    for key in ("name", "host", "port", "username", "description"):
        _put(data, key, text(form, key))
    data["name"] = text(form, "name")
    data["host"] = text(form, "host")
    data["username"] = text(form, "username")
    data["password"] = form.get("password") or ""
    _put(data, "ssl_mode", text(form, "ssl_mode"))
    if text(form, "ssl_mode").startswith("verify-"):
        # The field stays in the page, hidden, when another mode is chosen.
        _put(data, "ssl_ca", text(form, "ssl_ca"))
    data["databases"] = [d.strip() for d in text(form, "databases").split(",") if d.strip()]
    data["age_recipients"] = recipients(form)
    _put(data, "max_rate_mb_per_s", text(form, "max_rate_mb_per_s"))
    _put(data, "lock_timeout_seconds", text(form, "lock_timeout_seconds"))
    _put(data, "freshness_hours", text(form, "freshness_hours"))
    if text(form, "backup_source.host") or text(form, "backup_source.port"):
        data["backup_source"] = {
            "host": text(form, "backup_source.host"),
            "port": text(form, "backup_source.port"),
        }
    if form.get("has_production_hours"):
        data["production_hours"] = {
            "days": [str(d) for d in form.getlist("production_hours.days")],
            "start": text(form, "production_hours.start"),
            "end": text(form, "production_hours.end"),
            "timezone": text(form, "production_hours.timezone") or "UTC",
        }
    return validate(lambda: DatabaseCreate.model_validate(data))


# ---- backups and restores --------------------------------------------------------------------


def backup_create(form: FormLike) -> BackupCreate:
    data: dict[str, Any] = {"storage": text(form, "storage")}
    _put(data, "name", text(form, "name"))
    return validate(lambda: BackupCreate.model_validate(data))


PITR_FIELDS = "pitr."  # the section's fields sit on the page beside other forms' `storage`


def pitr_update(form: FormLike) -> PitrUpdate:
    """PitrUpdate from the section's form: `action` is `enable` or `disable`; its fields are
    named `pitr.storage` and `pitr.upload_interval_seconds` (see `pitr_errors`).

    >>> from starlette.datastructures import MultiDict
    >>> pitr_update(MultiDict({"action": "enable", "pitr.storage": "main",
    ...                        "pitr.upload_interval_seconds": "30"})).upload_interval_seconds
    30
    >>> pitr_update(MultiDict({"action": "disable"})).enabled
    False
    """
    if text(form, "action") == "disable":
        return validate(lambda: PitrUpdate(enabled=False))
    data: dict[str, Any] = {"enabled": True, "storage": text(form, PITR_FIELDS + "storage")}
    _put(data, "upload_interval_seconds", text(form, PITR_FIELDS + "upload_interval_seconds"))
    return validate(lambda: PitrUpdate.model_validate(data))


def pitr_errors(errors: FormErrors | None) -> FormErrors | None:
    """The messages of a refused PitrUpdate on the section's field names.

    >>> pitr_errors(FormErrors({"storage": "unknown"})).fields
    {'pitr.storage': 'unknown'}
    """
    if errors is None:
        return None
    fields = {PITR_FIELDS + name: message for name, message in errors.fields.items()}
    return FormErrors(fields, errors.message)


def restore_create(form: FormLike, sources: list[str]) -> RestoreCreate:
    """RestoreCreate from the Restore dialog. `from` is `backup` (the dialog's backup) or `time`
    (a point in time, see `_point_in_time`; the base is chosen by the restore). `into` is `same`
    (overwrite the database's own databases) or `new` (each source database into the name typed
    next to it, `map.<source>`).

    >>> from starlette.datastructures import MultiDict
    >>> r = restore_create(MultiDict({"backup": "b1", "into": "new", "map.shop": "shop_copy"}),
    ...                    ["shop"])
    >>> r.database_map, r.overwrite
    ({'shop': 'shop_copy'}, False)
    """
    data: dict[str, Any] = {"backup": text(form, "backup")}
    if text(form, "from") == "time":
        data = {"point_in_time": _point_in_time(form)}
    if text(form, "into") == "new":
        mapping = {source: text(form, f"map.{source}") for source in sources}
        missing = [s for s, target in mapping.items() if not target]
        if missing:
            raise FormInvalid(
                FormErrors(fields={f"map.{s}": "give the new database's name" for s in missing})
            )
        data["database_map"] = mapping
    else:
        data["overwrite"] = bool(form.get("overwrite"))
    identity = str(form.get("identity") or "").strip()
    if identity:
        data["identity"] = identity
    return validate(lambda: RestoreCreate.model_validate(data))


def _point_in_time(form: FormLike) -> dict[str, Any]:
    """The dialog's point in time: the latest stored commit, or the time typed, which the page
    says is UTC (a datetime-local input has no offset).

    >>> from starlette.datastructures import MultiDict
    >>> _point_in_time(MultiDict({"time": "2026-11-29T10:15:03"}))
    {'time': '2026-11-29T10:15:03+00:00'}
    >>> _point_in_time(MultiDict({"latest": "on"}))
    {'latest': True}
    """
    if form.get("latest"):
        return {"latest": True}
    typed = text(form, "time")
    if not typed:
        raise FormInvalid(FormErrors(fields={"time": "give the time (UTC), or tick Latest"}))
    return {"time": f"{typed}+00:00"}


# ---- schedules -------------------------------------------------------------------------------


def _timing(form: FormLike) -> dict[str, Any]:
    repeats = text(form, "repeats") or "day"
    if repeats == "cron":
        return {"cron": text(form, "cron")}
    frequency: dict[str, Any] = {"every": repeats}
    wanted = {"hour": ("minute",), "day": ("time",), "week": ("weekday", "time")}
    for key in wanted.get(repeats, ("day", "time")):
        frequency[key] = text(form, f"frequency.{key}")
    return {"frequency": frequency}


def _schedule_fields(form: FormLike) -> dict[str, Any]:
    data: dict[str, Any] = {"storage": text(form, "storage"), **_timing(form)}
    _put(data, "timezone", text(form, "timezone"))
    _put(data, "retention_copies", text(form, "retention_copies"))
    return data


def schedule_create(form: FormLike) -> ScheduleCreate:
    """ScheduleCreate from the Schedule form.

    >>> from starlette.datastructures import MultiDict
    >>> s = schedule_create(MultiDict({"name": "nightly", "storage": "disk", "repeats": "day",
    ...     "frequency.time": "02:00", "timezone": "Europe/Berlin", "retention_copies": "7"}))
    >>> s.frequency, s.timezone, s.retention_copies
    (DailyFrequency(every='day', time='02:00'), 'Europe/Berlin', 7)
    """
    data = _schedule_fields(form)
    _put(data, "name", text(form, "name"))
    return validate(lambda: ScheduleCreate.model_validate(data))


def schedule_update(form: FormLike) -> ScheduleUpdate:
    return validate(lambda: ScheduleUpdate.model_validate(_schedule_fields(form)))


def repeats_of(frequency: Mapping[str, Any] | None) -> str:
    """The "Repeats" choice of a saved schedule.

    >>> repeats_of({"every": "week", "weekday": "sun", "time": "03:00"}), repeats_of(None)
    ('week', 'cron')
    """
    return str(frequency["every"]) if frequency else "cron"
