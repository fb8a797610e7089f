"""botocore's data files (the S3 service model, its endpoint rules) read without their
documentation: the prose is for generated docstrings only, and it held about 5 MiB of every
process with an S3 client (measured), a twelfth of a backup's stream process. Its table of
endpoints keeps only S3's: the table of every AWS service held another 4 MiB (measured), and
these sessions make S3 clients only."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import botocore.loaders
import botocore.session

# Keys whose values are prose. They are kept, empty: botocore reads some of them with [].
_PROSE = frozenset(("documentation", "documentationUrl"))
# The one service whose endpoints a lean session's clients look up (`regions.EndpointResolver`
# reads a partition's `services` by the client's service name only).
_SERVICE = "s3"


def _without_prose(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """
    >>> _without_prose([("type", "string"), ("documentation", "<p>The bucket.</p>")])
    {'type': 'string', 'documentation': ''}
    """
    return {key: "" if key in _PROSE else value for key, value in pairs}


class _LeanJSONFileLoader(botocore.loaders.JSONFileLoader):  # type: ignore[misc]
    """botocore's JSON file loader (the same files, in the same order of preference) whose
    objects are plain dicts without prose."""

    def load_file(self, file_path: str) -> Any:
        for suffix, open_file in ((".json", open), (".json.gz", gzip.open)):
            path = file_path + suffix
            if os.path.isfile(path):
                with open_file(path, "rb") as source:
                    data = json.loads(source.read(), object_pairs_hook=_without_prose)
                if os.path.basename(file_path) == "endpoints":
                    _keep_only_s3(data)
                return data
        return None


def _keep_only_s3(endpoints: Any) -> None:
    """
    >>> table = {"partitions": [{"partition": "aws", "services": {"s3": {}, "ec2": {}}}]}
    >>> _keep_only_s3(table)
    >>> table
    {'partitions': [{'partition': 'aws', 'services': {'s3': {}}}]}
    """
    for partition in endpoints.get("partitions", []):
        services = partition.get("services", {})
        partition["services"] = {_SERVICE: services[_SERVICE]} if _SERVICE in services else {}


def lean_botocore_session() -> botocore.session.Session:
    """A botocore session of its own whose S3 clients load their models without prose (a
    client of another service would find no endpoints of its own)."""
    session = botocore.session.Session()
    # botocore's own loader (its search path: the package's data, AWS_DATA_PATH), reading lean.
    loader = botocore.loaders.create_loader(session.get_config_variable("data_path"))
    loader.file_loader = _LeanJSONFileLoader()
    session.register_component("data_loader", loader)
    return session
