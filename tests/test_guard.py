"""Malformed requests get 4xx, odd callback data a message, every response security headers."""
import json

import pytest

from app import app, server
from landscape.ui.guard import MAX_REQUEST_BYTES
from servers import VALIDATE_OUTPUT, validate_request


@pytest.fixture
def client():
    return server.test_client()


@pytest.mark.parametrize("body", [
    "not json", "{}", "[1, 2]", "null", '"text"',
    json.dumps({"output": "no-such.thing", "inputs": [], "changedPropIds": []}),
    json.dumps({"output": VALIDATE_OUTPUT, "inputs": "zz", "changedPropIds": []}),
    json.dumps({"output": VALIDATE_OUTPUT, "inputs": [{"id": "url"}], "changedPropIds": []}),
    json.dumps({"output": VALIDATE_OUTPUT, "inputs": [], "changedPropIds": [1]}),
    json.dumps({"output": 5, "inputs": []}),
])
def test_malformed_callback_requests_get_400(client, body):
    r = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert r.status_code == 400


def test_huge_bodies_get_413(client):
    r = client.post("/_dash-update-component", data="x" * (MAX_REQUEST_BYTES + 1),
                    content_type="application/json")
    assert r.status_code == 413


@pytest.mark.parametrize("value", [{"evil": 1}, [1, 2], 12345, None, "?students=" + "9" * 500,
                                   "?students=1e999&dim=-inf", "?teacher=file:/etc/passwd"])
def test_odd_callback_values_never_give_5xx(client, value):
    r = client.post("/_dash-update-component", data=json.dumps(validate_request(value)),
                    content_type="application/json")
    assert r.status_code < 500
    # the server keeps serving
    assert client.get("/health").status_code == 200


def test_valid_callback_request_still_works(client):
    r = client.post("/_dash-update-component",
                    data=json.dumps(validate_request("?students=3&teachers=3&starts=10")),
                    content_type="application/json")
    assert r.status_code == 200
    data = r.get_json()["response"]
    assert data["config"]["data"]["students"] == "3" and data["message"]["children"] == ""


def test_security_headers(client):
    for path in ("/", "/health", "/_dash-layout"):
        headers = client.get(path).headers
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert app.server.debug is False


def test_a_request_for_an_allow_duplicate_output_passes_the_guard(client):
    """Dash names an output registered with allow_duplicate ``property@hash`` in the
    request (Connections' click on a leaf sets the connection picker this way)."""
    key = next(k for k in app.callback_map if k.startswith("connection.value@"))
    body = {"output": key,
            "outputs": {"id": "connection", "property": key.split(".", 1)[1]},
            "inputs": [{"id": "connections-tree", "property": "clickData", "value": None}],
            "changedPropIds": ["connections-tree.clickData"],
            "state": [{"id": "connections-ready", "property": "data", "value": None}]}
    r = client.post("/_dash-update-component", data=json.dumps(body),
                    content_type="application/json")
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:200]
    body["outputs"]["property"] = "value@another"
    r = client.post("/_dash-update-component", data=json.dumps(body),
                    content_type="application/json")
    assert r.status_code == 400
