"""The one list of datasets: the built-in plug-ins (the sub-packages beside this file) plus the
plug-in modules named in the settings (`plugins`, HOMEPRICE_PLUGINS).

Listing reads only each plug-in's manifest (its package `__init__`: name, settings model and a
loader), never pandas or pandera, so Airflow DAG files and settings can list datasets cheaply.

A plug-in manifest defines:
    SETTINGS: type[DatasetSettings]   its settings model, with its defaults (pydantic only)
    dataset() -> Dataset              the dataset itself (may import pandas, scikit-learn...)
    NAME: str                         optional; default: the module's last name
    ORDER: int                        optional; where it lists among the datasets (default 100)
    SCRAPED: bool                     optional; True when its raw data is made by `homeprice
                                      scrape` (default False): such a dataset joins `--dataset
                                      all` once the lake holds its raw data, and is served only
                                      when named (serving.datasets, `serve --datasets`)
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from homeprice.config import DatasetSettings, configured_plugins
from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from homeprice.datasets.base import Dataset

_PACKAGE = __name__.rpartition(".")[0]
# Plug-ins listed after the built-in ones unless they say otherwise.
_DEFAULT_ORDER = 100

# Modules registered at run time (settings given as arguments), beside the configured ones.
_registered: list[str] = []
_lock = threading.Lock()


class PluginError(UserInputError, ValueError):
    """A plug-in module cannot be imported or does not follow the manifest contract.

    A ValueError too, so a settings validator reports it as a bad `plugins` value.
    """


@dataclass(frozen=True)
class Plugin:
    """One dataset plug-in, as its manifest describes it (cheap: nothing loaded yet)."""

    name: str
    module: str
    order: int
    settings_model: type[DatasetSettings]
    load: Callable[[], Dataset] = field(repr=False)
    scraped: bool = False


@cache
def builtin_modules() -> tuple[str, ...]:
    """The built-in plug-ins: every sub-package of homeprice.datasets (found, not imported).

    Scanned once per process: the installed package does not change while it runs, and every
    dataset lookup and settings validation asks for the list.
    """
    here = Path(__file__).parent
    return tuple(sorted(f"{_PACKAGE}.{info.name}" for info in pkgutil.iter_modules([str(here)])
                        if info.ispkg))


def register_plugins(modules: list[str]) -> None:
    """Add plug-in modules to this process's dataset list (checked now: a bad one fails here)."""
    for module in modules:
        _manifest(module)
        with _lock:
            if module not in _registered:
                _registered.append(module)


def plugins() -> dict[str, Plugin]:
    """Every known plug-in by dataset name, in listing order."""
    modules = list(dict.fromkeys([*builtin_modules(), *configured_plugins(), *_registered]))
    return _catalogue(tuple(modules))


def dataset_names() -> list[str]:
    """The known datasets' names, in listing order (cheap: imports no data library)."""
    return list(plugins())


def default_dataset_names() -> list[str]:
    """The datasets served when none are named: every known one but the scraped ones (a
    scraped dataset has no model until someone scrapes and trains it)."""
    return [name for name, plugin in plugins().items() if not plugin.scraped]


def scraped_dataset_names() -> list[str]:
    """The datasets whose raw data `homeprice scrape` makes."""
    return [name for name, plugin in plugins().items() if plugin.scraped]


@lru_cache(maxsize=16)
def _catalogue(modules: tuple[str, ...]) -> dict[str, Plugin]:
    found: dict[str, Plugin] = {}
    for module in modules:
        plugin = _manifest(module)
        if plugin.name in found:
            raise PluginError(f"dataset {plugin.name!r} is defined twice: by "
                              f"{found[plugin.name].module} and by {module}")
        found[plugin.name] = plugin
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


@cache
def _manifest(module: str) -> Plugin:
    try:
        manifest = importlib.import_module(module)
    except ImportError as error:
        raise PluginError(f"cannot import dataset plug-in {module!r}: {error}") from None
    settings_model = getattr(manifest, "SETTINGS", None)
    load = getattr(manifest, "dataset", None)
    if not (isinstance(settings_model, type) and issubclass(settings_model, DatasetSettings)
            and callable(load)):
        raise PluginError(f"{module!r} is not a dataset plug-in: it needs SETTINGS (a "
                          "DatasetSettings subclass) and dataset() (see homeprice.datasets)")
    name = getattr(manifest, "NAME", module.rpartition(".")[2])
    return Plugin(name=name, module=module, order=getattr(manifest, "ORDER", _DEFAULT_ORDER),
                  settings_model=settings_model, load=_checked_loader(name, settings_model, load),
                  scraped=bool(getattr(manifest, "SCRAPED", False)))


def _checked_loader(name: str, settings_model: type[DatasetSettings],
                    load: Callable[[], Dataset]) -> Callable[[], Dataset]:
    """The manifest's loader, run once, checking the dataset agrees with its manifest."""

    @lru_cache(maxsize=1)
    def checked() -> Dataset:
        dataset = load()
        if dataset.name != name or dataset.settings_model is not settings_model:
            raise PluginError(f"plug-in {name!r}: its dataset says name={dataset.name!r}, "
                              f"settings_model={dataset.settings_model.__name__}; the manifest "
                              f"says {name!r}, {settings_model.__name__}")
        return dataset

    return checked
