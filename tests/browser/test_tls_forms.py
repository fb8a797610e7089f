"""TLS in the page: a storage's CA certificates and a database's TLS mode and CA, in a real
browser against servers whose certificates come from a test CA."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from fixtures.tls import TestCA

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_storage_on_https_is_saved_with_its_ca_certificates(
    signed_in: Page, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    page = signed_in
    page.get_by_role("link", name="Settings > Backup Storages").click()
    page.get_by_role("button", name="Add backup storage").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("private")
    dialog.get_by_label("Endpoint").fill(seaweed.https_endpoint_url)
    dialog.get_by_label("Bucket").fill(s3_bucket)
    dialog.get_by_label("Access key").fill(seaweed.access_key)
    dialog.get_by_label("Secret key").fill(seaweed.secret_key)
    dialog.get_by_label("Force path-style").check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".alert")).to_contain_text("certificate (PEM) as ca_bundle")
    expect(dialog.locator("#err-ca_bundle")).to_be_visible()

    dialog.get_by_label("Secret key").fill(seaweed.secret_key)
    dialog.get_by_label("CA certificates").fill(seaweed.ca.pem)
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row", name="private")
    expect(row).to_contain_text(seaweed.https_endpoint_url)

    row.get_by_role("button", name="Edit private").click()
    expect(dialog.get_by_label("CA certificates")).to_have_value(seaweed.ca.pem)


def test_a_database_is_verified_against_the_ca_given_in_the_form(
    signed_in: Page, pg_tls_server: PostgresServer, test_ca: TestCA, other_ca: TestCA
) -> None:
    page = signed_in
    page.get_by_role("button", name="Add database").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("vault")
    dialog.get_by_label("Engine").select_option("postgresql")
    dialog.get_by_label("Host", exact=True).fill(pg_tls_server.host)
    dialog.get_by_label("Port", exact=True).fill(str(pg_tls_server.port))
    dialog.get_by_label("Username").fill(pg_tls_server.superuser)
    dialog.get_by_label("Password").fill(pg_tls_server.password)
    expect(dialog.get_by_label("CA certificate")).to_be_hidden()
    dialog.get_by_label("TLS").select_option("verify-full")
    dialog.get_by_label("CA certificate").fill(other_ca.pem)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".alert")).to_contain_text("unknown CA")
    expect(dialog.locator("#err-ssl_ca")).to_be_visible()

    dialog.get_by_label("Password").fill(pg_tls_server.password)
    dialog.get_by_label("CA certificate").fill(test_ca.pem)
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="vault")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("TLS verify-full")
