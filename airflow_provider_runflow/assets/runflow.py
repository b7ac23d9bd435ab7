"""The ``runflow`` asset URI scheme, registered in provider info (``asset-uris``) with its normaliser.

``runflow://<host>/models/<owner>/<slug>``: the results of a model, one asset per model (emitted
through an ``AssetAlias`` by the operator). ``runflow://<host>/batches``: every batch whose signed
callback reached Airflow's receiver. ``<host>`` is the API host of the Runflow connection, so two
Runflow deployments never share an asset.
"""

from __future__ import annotations

from urllib.parse import SplitResult, quote, urlsplit

from airflow.providers.common.compat.sdk import Asset

SCHEME = "runflow"
BATCHES_PATH = "/batches"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's normaliser for ``runflow://`` URIs: a host, and a model or the batches path; host lower-cased."""
    if not uri.netloc:
        raise ValueError("A runflow:// asset URI needs the API host, e.g. runflow://api.runflow.io/models/acme/gen")
    parts = uri.path.split("/")
    is_model = len(parts) >= 4 and parts[1] == "models" and all(parts[2:])
    if not is_model and uri.path != BATCHES_PATH:
        raise ValueError(f"runflow:// asset URIs are /models/<owner>/<slug> or {BATCHES_PATH}, not {uri.path or '/'!r}")
    return uri._replace(netloc=uri.netloc.lower())


def api_host(base_url: str) -> str:
    """The host (with its port, if any) of a Runflow API base URL: the authority of its asset URIs."""
    host = urlsplit(base_url).netloc.rpartition("@")[2].lower()
    if not host:
        raise ValueError(f"The Runflow API base URL {base_url!r} has no host")
    return host


def model_asset_uri(base_url: str, model: str) -> str:
    """``runflow://<host>/models/<owner>/<slug>`` for ``model`` (``owner/slug``) on the API at ``base_url``."""
    return f"{SCHEME}://{api_host(base_url)}/models/{quote(model.strip('/'), safe='/')}"


def batches_asset_uri(base_url: str) -> str:
    """``runflow://<host>/batches``: the asset the callback receiver records each verified callback on."""
    return f"{SCHEME}://{api_host(base_url)}{BATCHES_PATH}"


def model_asset(base_url: str, model: str) -> Asset:
    """The asset of ``model``'s results, e.g. to schedule a DAG on: ``schedule=[model_asset(url, model)]``."""
    return Asset(uri=model_asset_uri(base_url, model))


def batches_asset(base_url: str) -> Asset:
    """The asset of callbacks received from the Runflow API at ``base_url``."""
    return Asset(uri=batches_asset_uri(base_url))
