"""The heap after a model change: garbage cycles collected, the survivors frozen (so the
collector skips them on the request path), a replaced model's cycles reclaimed at the next
settle; the model store settles only when its models changed and serving.freeze_heap is on."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from homeprice.config import Settings
from homeprice.serving import heap
from homeprice.serving.app import create_app


class Node:
    """An object in a reference cycle: only the cyclic collector can reclaim it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # leave the test process as it was


def test_settle_collects_cycles_then_freezes_the_survivors() -> None:
    garbage = Node()
    dead = weakref.ref(garbage)
    del garbage
    kept = Node()
    assert heap.settle() >= 0
    assert dead() is None  # collected before the freeze, not frozen for ever
    assert gc.get_freeze_count() > 0
    # What survived is frozen: a cycle dropped now outlives collections...
    alive = weakref.ref(kept)
    del kept
    gc.collect()
    assert alive() is not None
    # ...until the next settle (the next reload) unfreezes and collects it.
    heap.settle()
    assert alive() is None


@pytest.mark.parametrize("freeze", [True, False])
def test_the_store_settles_after_a_change_only_when_on(
        serving_settings: Settings, monkeypatch: pytest.MonkeyPatch, freeze: bool) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append(True) or 0.0)
    settings = serving_settings.model_copy(update={"serving": serving_settings.serving.model_copy(
        update={"freeze_heap": freeze})})
    with TestClient(create_app(settings)) as client:
        store = client.app.state.context.store
        assert calls == ([True] if freeze else [])  # the first load changed the models
        assert store.refresh() == []  # nothing changed: no collection
        assert calls == ([True] if freeze else [])
