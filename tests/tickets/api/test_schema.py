"""The OpenAPI schema: valid, public, documented by a page served from our own files, and true to the
live API (Schemathesis: no server error, every answer as the schema says)."""

import re

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from integrations.models import IntegrationEvent
from tests.tickets.factories import AppealFactory

from .conftest import api_key_issue


def test_the_schema_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    for path in (
        "/api/v1/appeals/:",
        "/api/v1/appeals/{reference}/:",
        "/api/v1/appeals/{reference}/registered-contacts/:",
        "/api/v1/events/:",
        "/api/v1/fresh-photo-codes/:",
    ):
        assert path in text
    assert "ApiKey:" in text


def test_the_schema_is_public_and_documents_the_error_shape(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    create = schema["paths"]["/api/v1/appeals/"]["post"]["responses"]
    for status in ("400", "401", "403", "413", "422", "429"):
        assert create[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # The events' data is documented, with a rejection's reason code.
    data = schema["components"]["schemas"]["IntegrationEvent"]["properties"]["data"]
    assert "decision_reason_code (a rejection's reason code, stable across languages; null otherwise)" in data["description"]


def test_the_docs_page_uses_our_static_files_and_no_inline_script_or_style(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    script = client.get("/api/docs/?script")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_every_answer_conforms(live_server, appeal_types, integration):
    key = api_key_issue(integration, rate_limit="100000/min")
    appeal = AppealFactory(integration=integration)
    IntegrationEvent.objects.create(type=IntegrationEvent.Type.SUBMITTED, appeal=appeal, integration=integration, data={})
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {"Authorization": f"Api-Key {key}"}
    session = requests.Session()

    @settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def conforms(case):
        case.call_and_validate(
            base_url=live_server.url,
            session=session,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
            timeout=30,
        )

    try:
        conforms()
    finally:
        session.close()  # the live server's threads let go of their database connections
