"""`strongbox storage add|list|show|edit|remove`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strongbox.cli.age_options import AgeRecipientOpt, NoAgeRecipientsOpt, recipients_change
from strongbox.cli.client import ApiClient, CliError
from strongbox.cli.output import print_json, print_record, print_table
from strongbox.cli.pem_files import read_pem
from strongbox.cli.secrets_input import secret_or_prompt
from strongbox.errors import StrongboxError

if TYPE_CHECKING:
    from strongbox.services.storage_kinds import StorageKind

app = typer.Typer(help="Backup storages: S3-compatible buckets or local folders.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
SECRET_ENV = "STRONGBOX_S3_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name
CaBundleOpt = Annotated[
    Path | None,
    typer.Option("--ca-bundle", help="PEM file of the CA certificates to verify the endpoint with"),
]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="name of the storage")],
    type_: Annotated[str, typer.Option("--type", help="kind of storage: s3, filesystem")] = "s3",
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3 endpoint, http(s)://host:port")
    ] = None,
    bucket: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str, typer.Option()] = "us-east-1",
    prefix: Annotated[str, typer.Option(help="key prefix inside the bucket")] = "",
    access_key_id: Annotated[str | None, typer.Option()] = None,
    secret_access_key: Annotated[
        str | None, typer.Option(envvar=SECRET_ENV, help=f"or set {SECRET_ENV}")
    ] = None,
    verify_tls: Annotated[bool, typer.Option("--verify-tls/--no-verify-tls")] = True,
    ca_bundle: CaBundleOpt = None,
    force_path_style: Annotated[bool, typer.Option()] = False,
    path: Annotated[str | None, typer.Option(help="folder, for --type filesystem")] = None,
    description: Annotated[str, typer.Option()] = "",
    age_recipient: AgeRecipientOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a backup storage; Strongbox tests access to it before saving."""
    kind = _kind(type_)
    body: dict[str, Any] = {"type": kind.name, "name": name, "description": description}
    if age_recipient:
        body["age_recipients"] = list(age_recipient)
    given = {
        "endpoint_url": endpoint_url,
        "bucket": bucket,
        "region": region,
        "prefix": prefix,
        "access_key_id": access_key_id,
        "verify_tls": verify_tls,
        "force_path_style": force_path_style,
        "path": path,
    }
    body.update({k: v for k, v in given.items() if k in kind.settings_fields and v is not None})
    declared = kind.create_model.model_fields
    missing = [
        f"--{f.replace('_', '-')}"
        for f in kind.settings_fields
        if declared[f].is_required() and f not in body
    ]
    if missing:
        raise CliError(f"a {kind.name} storage needs {', '.join(missing)}")
    if "ca_bundle" in kind.settings_fields:
        bundle = read_pem(ca_bundle, "--ca-bundle")
        if bundle is not None:
            body["ca_bundle"] = bundle
    if kind.secret_field:
        body[kind.secret_field] = secret_or_prompt(
            secret_access_key,
            kind.secret_field.replace("_", " "),
            "--secret-access-key",
            SECRET_ENV,
        )
    created = ApiClient().post("/backup-storages", body)
    show_one(created, as_json)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the backup storages."""
    rows = ApiClient().get_all("/backup-storages")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["where"] = _kind(row["type"]).location(row, "")
    print_table(
        rows,
        [("NAME", "name"), ("TYPE", "type"), ("WHERE", "where"), ("DESCRIPTION", "description")],
    )


@app.command("show")
def show(name: str, as_json: JsonOpt = False) -> None:
    """Show one backup storage (never its secret)."""
    show_one(ApiClient().get(f"/backup-storages/{name}"), as_json)


@app.command("edit")
def edit(
    name: str,
    endpoint_url: Annotated[str | None, typer.Option()] = None,
    bucket: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    prefix: Annotated[str | None, typer.Option()] = None,
    access_key_id: Annotated[str | None, typer.Option()] = None,
    secret_access_key: Annotated[
        str | None, typer.Option(envvar=SECRET_ENV, help=f"or set {SECRET_ENV}")
    ] = None,
    verify_tls: Annotated[bool | None, typer.Option("--verify-tls/--no-verify-tls")] = None,
    ca_bundle: CaBundleOpt = None,
    no_ca_bundle: Annotated[
        bool, typer.Option("--no-ca-bundle", help="remove the CA bundle")
    ] = False,
    force_path_style: Annotated[
        bool | None, typer.Option("--force-path-style/--no-force-path-style")
    ] = None,
    path: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    age_recipient: AgeRecipientOpt = None,
    no_age_recipients: NoAgeRecipientsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a backup storage; options left out keep their value."""
    changes: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "bucket": bucket,
        "region": region,
        "prefix": prefix,
        "access_key_id": access_key_id,
        "secret_access_key": secret_access_key,
        "verify_tls": verify_tls,
        "force_path_style": force_path_style,
        "path": path,
        "description": description,
    }
    body = {k: v for k, v in changes.items() if v is not None}
    if ca_bundle is not None and no_ca_bundle:
        raise CliError("give either --ca-bundle or --no-ca-bundle, not both")
    bundle = read_pem(ca_bundle, "--ca-bundle")
    if bundle is not None or no_ca_bundle:
        body["ca_bundle"] = bundle
    recipients_change(body, age_recipient, no_age_recipients)
    show_one(ApiClient().patch(f"/backup-storages/{name}", body), as_json)


@app.command("remove")
def remove(
    name: str,
    force: Annotated[
        bool, typer.Option(help="remove even if backups refer to it (artifacts are kept)")
    ] = False,
) -> None:
    """Remove a backup storage record. Its artifacts stay in the bucket or folder."""
    ApiClient().delete(f"/backup-storages/{name}", force=str(force).lower() if force else None)
    print(f"removed backup storage {name}")


def _kind(name: str) -> StorageKind:
    """The storage kind called `name`, as this program knows it; CliError if there is none."""
    # Imported here: the kinds import their SDKs (boto3), which other commands do not need.
    from strongbox.services import storage_kinds as registry

    try:
        return registry.kind_named(name)
    except StrongboxError as exc:
        raise CliError(exc.detail) from None


def show_one(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
    else:
        print_record({k: v for k, v in record.items() if v is not None})
