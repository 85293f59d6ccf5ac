"""The public OpenAPI document: every operation lists the errors it can answer, in one
error model, with the headers they carry. (The system tests check the running gateway
against it with Schemathesis: tests/system/test_openapi.py.)"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from shop_dapr.testing import fake_dapr, serving

from gateway.main import create_app
from gateway.settings import Settings
from gateway.tests.test_api import FakeSidecar, bearer

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    sidecar = FakeSidecar()
    async with serving(create_app(Settings(), fake_dapr(sidecar=sidecar.handle))) as c:
        yield c


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer: dict[str, Any] = (await client.get("/openapi.json")).json()
    return answer


def api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        if method in METHODS
    ]


def test_every_error_has_the_one_error_body(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's 422, a list: not what is sent
    assert set(schemas["ErrorBody"]["required"]) == {"detail"}
    for method, path, operation in api_operations(document):
        for code, answer in operation["responses"].items():
            if int(code) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


def test_every_operation_documents_the_limiter_and_outages(document: dict[str, Any]) -> None:
    for method, path, operation in api_operations(document):
        answers = operation["responses"]
        for code in ("429", "503"):
            assert answers[code]["headers"]["Retry-After"]["required"], (method, path, code)
        if operation.get("security"):
            assert "WWW-Authenticate" in answers["401"]["headers"], (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(answers), (method, path)


def test_operations_are_named_for_client_generators(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation in api_operations(document)}
    assert {"place_order", "get_order", "list_products", "set_cart_item", "log_in"} <= ids
    placed = document["paths"]["/api/v1/orders"]["post"]["responses"]["201"]
    assert placed["links"]["GetOrder"]["operationId"] == "get_order"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/v1/orders", "GET, POST"), ("/api/v1/cart/items/mug", "DELETE, PUT")],
)
async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    # Starlette would list only the methods of the first route it tried.
    answer = await client.patch(path, headers=bearer())
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allowed
    assert answer.json() == {"detail": "Method Not Allowed"}


async def test_422_names_each_field_and_echoes_no_input(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-address", "password": "short-pw", "name": "Ann"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("invalid input: body.email: ")
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
    }
    assert "short-pw" not in answer.text


async def test_a_failing_service_is_a_503_with_retry_after() -> None:
    sidecar = FakeSidecar()

    def busy_catalog(request: httpx.Request) -> httpx.Response:
        if request.headers["dapr-app-id"] == "catalog":
            return httpx.Response(503, json={"detail": "busy"})
        return sidecar.handle(request)

    async with serving(create_app(Settings(), fake_dapr(sidecar=busy_catalog))) as client:
        answer = await client.get("/api/v1/products/mug")
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "1")
    assert answer.json()["detail"].startswith("a backing service is unavailable")


def test_readiness_documents_its_503(document: dict[str, Any]) -> None:
    answers = document["paths"]["/readyz"]["get"]["responses"]
    assert answers["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }
