"""The one list of datasets: built-in plug-ins found beside the code, extra ones from the
settings, listed cheaply, and each one keeping the Dataset contract."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from pydantic import ValidationError

from homeprice.config import Settings, load_settings
from homeprice.datasets import DATASETS, dataset_names, get_dataset
from homeprice.datasets.catalogue import PluginError, builtin_modules, plugins, register_plugins
from homeprice.errors import UserInputError
from tests.support.paths import REPO

BUILTIN = ["california", "bengaluru", "magicbricks"]
# Served when no datasets are named: the scraped one has no model until scraped and trained.
SERVED = ["california", "bengaluru"]


@pytest.fixture(autouse=True)
def _no_configured_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "")


def test_builtin_plugins_are_the_sub_packages_in_their_order() -> None:
    assert builtin_modules() == ("homeprice.datasets.bengaluru", "homeprice.datasets.california",
                                 "homeprice.datasets.magicbricks")
    assert dataset_names() == BUILTIN == list(DATASETS)
    assert [get_dataset(name).name for name in DATASETS] == BUILTIN


def test_listing_datasets_imports_no_data_library() -> None:
    """Airflow's DAG files list the datasets at parse time, which has a time limit."""
    code = ("import sys; from homeprice.datasets import dataset_names; names = dataset_names(); "
            "heavy = [m for m in ('pandas', 'pandera', 'sklearn') if m in sys.modules]; "
            "print(','.join(names), heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    assert out.strip() == "california,bengaluru,magicbricks []"


def test_plugins_named_in_the_environment_join_and_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "tests.support.tiny")
    assert dataset_names() == [*BUILTIN, "tiny"]
    assert get_dataset("tiny").target_unit == "EUR"
    settings = load_settings()
    assert settings.plugins == ["tests.support.tiny"]
    assert settings.datasets.tiny.max_area == 400
    assert settings.serving.datasets == [*SERVED, "tiny"]
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "")
    assert dataset_names() == BUILTIN
    with pytest.raises(UserInputError, match="unknown dataset 'tiny'"):
        get_dataset("tiny")


def test_plugins_named_in_the_yaml_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.yaml"
    config.write_text("plugins: [tests.support.tiny]\ndatasets:\n  tiny:\n    max_area: 90\n")
    monkeypatch.setenv("HOMEPRICE_CONFIG", str(config))
    monkeypatch.delenv("HOMEPRICE_PLUGINS")
    assert dataset_names() == [*BUILTIN, "tiny"]
    assert load_settings().datasets.tiny.max_area == 90


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(UserInputError, match=r"unknown dataset 'paris' \(known: bengaluru, "
                                             r"california, magicbricks\)"):
        get_dataset("paris")


def test_a_bad_plugin_is_refused_clearly() -> None:
    with pytest.raises(PluginError, match="cannot import dataset plug-in 'no.such.module'"):
        register_plugins(["no.such.module"])
    with pytest.raises(PluginError, match="'tests.support.paths' is not a dataset plug-in"):
        register_plugins(["tests.support.paths"])
    with pytest.raises(ValidationError, match="plugins"):
        Settings(plugins=["no.such.module"])


def test_a_section_for_an_unknown_dataset_is_refused() -> None:
    with pytest.raises(ValidationError, match="no dataset plug-in named 'paris'"):
        Settings(datasets={"paris": {"log_target": True}})


@pytest.mark.parametrize("name", BUILTIN)
def test_each_dataset_keeps_the_contract(name: str) -> None:
    dataset, plugin = get_dataset(name), plugins()[name]
    assert dataset.settings_model is plugin.settings_model
    assert isinstance(Settings().datasets[name], dataset.settings_model)
    sample = dataset.sample_path
    assert sample.parent.name == "sample" and sample.parent.parent.name == name
    assert hashlib.sha256(sample.read_bytes()).hexdigest() == dataset.source.sample_sha256
    single = dataset.request_model(Settings())
    assert set(single.model_validate(dataset.request_example).features()) == set(
        dataset.feature_columns)
