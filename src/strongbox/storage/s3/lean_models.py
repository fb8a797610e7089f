"""botocore's data files (the S3 service model, its endpoint rules) read without their
documentation: the prose is for generated docstrings only, and it held about 5 MiB of every
process with an S3 client (measured), a twelfth of a backup's stream process."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import botocore.loaders
import botocore.session

# Keys whose values are prose. They are kept, empty: botocore reads some of them with [].
_PROSE = frozenset(("documentation", "documentationUrl"))


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
                    return json.loads(source.read(), object_pairs_hook=_without_prose)
        return None


def lean_botocore_session() -> botocore.session.Session:
    """A botocore session of its own whose clients load their models without prose."""
    session = botocore.session.Session()
    # botocore's own loader (its search path: the package's data, AWS_DATA_PATH), reading lean.
    loader = botocore.loaders.create_loader(session.get_config_variable("data_path"))
    loader.file_loader = _LeanJSONFileLoader()
    session.register_component("data_loader", loader)
    return session
