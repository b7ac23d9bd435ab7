"""The ``runflow://`` asset URIs: built by the helpers, normalised and checked by Airflow through provider info."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from airflow_provider_runflow.assets.runflow import batches_asset, model_asset, model_asset_uri


@pytest.mark.parametrize(
    ("base_url", "model", "uri"),
    [
        ("https://api.runflow.io", "acme/image-gen", "runflow://api.runflow.io/models/acme/image-gen"),
        ("http://127.0.0.1:8123/", "acme/img/v2", "runflow://127.0.0.1:8123/models/acme/img/v2"),
        ("https://API.Runflow.io/v1", "Acme/Gen", "runflow://api.runflow.io/models/Acme/Gen"),
        ("https://api.runflow.io", "acme/a b", "runflow://api.runflow.io/models/acme/a%20b"),
    ],
)
def test_model_assets_are_named_by_api_host_and_model(base_url: str, model: str, uri: str) -> None:
    assert model_asset_uri(base_url, model) == uri
    assert model_asset(base_url, model).uri == uri


def test_the_batches_asset_of_a_connection() -> None:
    assert batches_asset("https://api.runflow.io").uri == "runflow://api.runflow.io/batches"


def test_airflow_normalises_runflow_uris_with_the_providers_normaliser() -> None:
    assert Asset("runflow://API.Runflow.io/models/acme/gen/").uri == "runflow://api.runflow.io/models/acme/gen"


@pytest.mark.parametrize(
    "uri",
    ["runflow:///models/acme/gen", "runflow://api.runflow.io/acme/gen", "runflow://api.runflow.io/models/acme"],
)
def test_airflow_refuses_runflow_uris_that_name_no_model_or_host(uri: str) -> None:
    with pytest.raises(ValueError, match=r"runflow://"):
        Asset(uri)


def test_a_base_url_without_a_host_is_refused() -> None:
    with pytest.raises(ValueError, match="has no host"):
        model_asset_uri("not a url", "acme/gen")
