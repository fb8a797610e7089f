"""Users and tokens for the tests of roles, tokens and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from fixtures.app import RunningServer

PASSWORD = "correct horse battery staple"


def add_user(running: RunningServer, name: str, role: str, password: str = PASSWORD) -> None:
    running.client.post(
        "/api/v1/users", json={"name": name, "role": role, "password": password}
    ).raise_for_status()


def service_token(running: RunningServer, name: str, role: str) -> str:
    """A service token with `role`, made by the admin token."""
    response = running.client.post(
        "/api/v1/tokens", json={"name": name, "role": role, "service": True}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def client_with(running: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=running.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@contextmanager
def page_sign_in(
    running: RunningServer, name: str, password: str = PASSWORD
) -> Iterator[httpx.Client]:
    """A client signed in to the page with a user name and password."""
    with httpx.Client(base_url=running.url, timeout=60) as client:
        response = client.post("/sign-in", data={"name": name, "password": password})
        assert response.status_code == 303, response.text
        yield client


def user_token(running: RunningServer, name: str, password: str = PASSWORD) -> str:
    """A token the user makes for themselves on the page's account page."""
    with page_sign_in(running, name, password) as client:
        csrf = csrf_of(client)
        response = client.post("/account/tokens", data={"name": f"{name}-cli", "csrf_token": csrf})
    assert response.status_code == 200, response.text
    marker = 'class="new-token">'
    start = response.text.index(marker) + len(marker)
    return response.text[start : response.text.index("<", start)]


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/account").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
