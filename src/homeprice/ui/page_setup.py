"""What every page does first: find the API, say plainly when it is unreachable, pick a
dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import streamlit as st

from homeprice.config import UiSettings, load_settings
from homeprice.ui import forms
from homeprice.ui.client import ApiClient, ApiError, ApiUnreachable

T = TypeVar("T")


def ui_settings() -> UiSettings:
    """The UI settings (config file, then HOMEPRICE_UI__* environment variables)."""
    return load_settings().ui


@st.cache_resource(show_spinner=False)
def _client(url: str, timeout: float) -> ApiClient:
    # One connection pool per API URL for the whole UI process.
    return ApiClient(url, timeout)


def api() -> ApiClient:
    """The client of the configured API."""
    settings = ui_settings()
    return _client(settings.api_url, settings.timeout_seconds)


def stop_with(error: Exception) -> NoReturn:
    """Say what went wrong in one plain sentence and end this page's run."""
    if isinstance(error, ApiUnreachable):
        st.error(str(error), icon=":material/cloud_off:")
    else:
        st.error(f"The API refused: {error}", icon=":material/error:")
    st.stop()
    raise AssertionError("st.stop() returned")  # for type checkers: st.stop never returns


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args)`, or the page stops with a plain message when the API fails."""
    try:
        return fn(*args, **kwargs)
    except (ApiUnreachable, ApiError) as error:
        stop_with(error)


def optional(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """`fn(*args)`, or None with the API's reason shown as information when it has nothing to
    give (404: e.g. no drift check yet); an unreachable API still stops the page."""
    try:
        return fn(*args, **kwargs)
    except ApiError as error:
        if error.status != 404:
            stop_with(error)
        st.info(error.message, icon=":material/info:")
        return None
    except ApiUnreachable as error:
        stop_with(error)


def page_start(title: str, caption: str) -> tuple[ApiClient, str]:
    """Title, the API in use, and the dataset picker; stops when the API is unreachable."""
    st.title(title)
    client = api()
    st.caption(f"{caption} · API: {client.base_url}")
    loaded = call(client.models)
    datasets = list(loaded)  # the API's order (its configuration)
    if not datasets:
        st.warning("The API serves no datasets.")
        st.stop()
    dataset = st.selectbox("Dataset", datasets, key=f"{title}-dataset")
    return client, str(dataset)


@st.cache_data(ttl=300, show_spinner=False)
def _fields(url: str, dataset: str, _client: ApiClient) -> list[forms.FieldSpec]:
    # The request model changes only with a new API release: fetch it once per 5 minutes.
    return forms.fields_for(_client.openapi(), dataset)


def request_fields(client: ApiClient, dataset: str) -> list[forms.FieldSpec]:
    """The fields of one home of `dataset`, from the API's request model."""
    return call(_fields, client.base_url, dataset, client)
