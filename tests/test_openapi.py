import yaml
from fastapi.testclient import TestClient

from app.cli import openapi_yaml
from tests.conftest import REPO


def test_committed_openapi_yaml_equals_the_served_spec(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    committed = yaml.safe_load((REPO / "openapi.yaml").read_text())
    assert committed == served, "openapi.yaml is stale: run `webcare openapi > openapi.yaml`"
    assert yaml.safe_load(openapi_yaml(served)) == served
