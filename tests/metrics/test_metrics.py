from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ApiClient, Signer, mention, post_mentions


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_cases_and_deliveries_are_counted_from_the_database(client: TestClient, signer: Signer,
                                                           api: ApiClient) -> None:
    post_mentions(client, signer, mention("mijn factuur klopt niet"))
    post_mentions(client, signer, mention("storing!", author={"id": "b"}))
    ref = post_mentions(client, signer, mention("nog een storing", author={"id": "c"})).json()["cases"][0]
    api.post(f"/api/v1/cases/{ref}/close", json={"reason": "dubbel"})
    found = samples(client)
    cases = {labels: value for (name, labels), value in found.items() if name == "webcare_cases"}
    assert cases[(("department", "billing"), ("sla_state", "running"), ("status", "pending_department"))] == 1
    assert cases[(("department", "network"), ("sla_state", "running"), ("status", "pending_department"))] == 1
    assert sum(cases.values()) == 2  # the closed case is not counted
    deliveries = {labels: value for (name, labels), value in found.items() if name == "webcare_deliveries_queued"}
    assert deliveries == {(("department", "billing"), ("status", "pending")): 1}


def test_requests_are_counted_by_route_template(client: TestClient, api: ApiClient) -> None:
    api.get("/api/v1/cases/WC-000042")
    api.get("/api/v1/cases/WC-000043")
    found = samples(client)
    key = ("webcare_http_requests_total",
           (("method", "GET"), ("route", "/api/v1/cases/{ref}"), ("status", "404")))
    assert found[key] == 2
    assert not any("WC-0000" in str(labels) for _, labels in found)
