"""The CLI's HTTP client of the REST API (STRONGBOX_URL, STRONGBOX_TOKEN)."""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
PAGE_SIZE = 500  # the API's largest page: fewest requests for a whole list


class CliError(Exception):
    """An error to print as one line; `exit_code` 2 for bad input, 1 for failures."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ApiClient:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ.get("STRONGBOX_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("STRONGBOX_TOKEN", "")
        self._http = httpx.Client(base_url=self.url, timeout=60)

    def request(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        """The decoded JSON answer (None for 204). Raises CliError with the problem's detail."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.request(
                method, f"/api/v1{path}", json=json, headers=headers, params=query
            )
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach Strongbox at {self.url} ({exc.__class__.__name__}): is "
                "'strongbox serve' running? Set STRONGBOX_URL to its address",
                exit_code=1,
            ) from exc
        if response.status_code == 204:
            return None
        if response.is_success:
            return response.json()
        raise CliError(_problem_line(response), 2 if response.status_code < 500 else 1)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def get_all(self, path: str, **params: Any) -> list[Any]:
        """Every item of a list endpoint, following its pages (`next`) to the end."""
        items: list[Any] = []
        cursor: str | None = None
        while True:
            page = self.get(path, **params, limit=PAGE_SIZE, cursor=cursor)
            items.extend(page["items"])
            cursor = page["next"]
            if cursor is None:
                return items

    def post(self, path: str, json: Any, **params: Any) -> Any:
        return self.request("POST", path, json=json, **params)

    def put(self, path: str, json: Any, **params: Any) -> Any:
        return self.request("PUT", path, json=json, **params)

    def patch(self, path: str, json: Any, **params: Any) -> Any:
        return self.request("PATCH", path, json=json, **params)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, **params)


def _problem_line(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"the server answered {response.status_code}: {response.text[:200]}"
    detail = str(body.get("detail") or body)
    if response.status_code == 401:
        detail += " (set STRONGBOX_TOKEN to a valid API token)"
    if len(body.get("errors") or []) > 0 and "invalid fields" in detail:
        detail = "; ".join(
            f"{e['field'].removeprefix('body.')}: {e['message']}" for e in body["errors"]
        )
    return detail
