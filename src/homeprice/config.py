"""Typed settings: code defaults, then config/homeprice.yaml, then HOMEPRICE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

# The repository's config file; found for editable installs and when run from the repo root.
_REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "homeprice.yaml"
# The shared data folder beside a checkout (../shared/data), used when HOMEPRICE_DATA_DIR is unset.
_SHARED_DATA = Path("..") / "shared" / "data"


class SplitSettings(BaseModel):
    """Deterministic train / calibration / test split."""

    seed: int = 42
    train: float = Field(0.7, gt=0, lt=1)
    calibration: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> "SplitSettings":
        total = self.train + self.calibration + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, got {total:.4f}")
        return self


class ValidationSettings(BaseModel):
    """Data quality report thresholds."""

    iqr_factor: float = Field(1.5, gt=0)


class CaliforniaSettings(BaseModel):
    """Cleaning rules of the California census data."""

    latitude: tuple[float, float] = (32.0, 42.5)
    longitude: tuple[float, float] = (-124.8, -114.0)


class BengaluruSettings(BaseModel):
    """Cleaning rules of the Bengaluru listings."""

    min_sqft_per_bedroom: float = Field(250, gt=0)
    max_extra_baths: int = Field(2, ge=0)


class DatasetsSettings(BaseModel):
    """Per-dataset settings."""

    california: CaliforniaSettings = CaliforniaSettings()
    bengaluru: BengaluruSettings = BengaluruSettings()


class BudgetSettings(BaseModel):
    """How much tuning a budget buys, per candidate."""

    trials: int = Field(ge=1)
    # None: no time limit. Reproduction uses it to replay exactly the logged number of trials.
    timeout_seconds: float | None = Field(gt=0)
    cv_folds: int = Field(ge=2)


class TrainingSettings(BaseModel):
    """Candidates, tuning budgets and prediction intervals."""

    candidates: list[str] = ["ridge", "tree", "forest", "lightgbm"]
    budgets: dict[str, BudgetSettings] = {
        "fast": BudgetSettings(trials=1, timeout_seconds=10, cv_folds=2),
        "default": BudgetSettings(trials=20, timeout_seconds=40, cv_folds=3),
        "thorough": BudgetSettings(trials=100, timeout_seconds=300, cv_folds=5),
    }
    # Threads for LightGBM and random forests; fixed, so LightGBM results are reproducible.
    n_jobs: int = Field(2, ge=1)
    log_target: dict[str, bool] = {"california": False, "bengaluru": True}
    interval_alpha: float = Field(0.1, gt=0, lt=1)
    interval_bins: int = Field(5, ge=1)
    interval_score: str = "relative"


class GateSettings(BaseModel):
    """Promotion gate: absolute thresholds per dataset, and the margin over the champion."""

    thresholds: dict[str, dict[str, float]] = {
        "california": {"max_rmse": 55_000, "min_r2": 0.75},
        "bengaluru": {"max_mape": 0.30, "min_r2": 0.50},
    }
    # The challenger's test RMSE must be at least this fraction below the champion's.
    min_improvement: float = Field(0.005, ge=0)


class TrackingSettings(BaseModel):
    """MLflow tracking; MLFLOW_TRACKING_URI wins over `uri`, default sqlite in HOMEPRICE_HOME."""

    uri: str | None = None


TrafficMode = Literal["off", "split", "shadow"]


class TrafficSettings(BaseModel):
    """How one dataset's requests are shared between its champion and challenger."""

    # off: champion only; split: `share` of the clients get the challenger's answer;
    # shadow: the champion answers and the challenger also prices every request, logged only.
    mode: TrafficMode = "off"
    share: float = Field(0.2, ge=0, le=1)

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `off` as false.
        return "off" if value is False else value


class ServingSettings(BaseModel):
    """The prediction service."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    datasets: list[str] = ["california", "bengaluru"]
    max_batch: int = Field(10_000, ge=1)
    # Server processes; each loads the models and writes its own log batches.
    workers: int = Field(1, ge=1, le=64)
    # How often the server looks up the registry aliases for a newly promoted model.
    reload_interval_seconds: float = Field(10.0, gt=0)
    log_batch_size: int = Field(500, ge=1)
    log_queue_size: int = Field(100_000, ge=1)
    # The fast path must agree with the sklearn pipeline on the stored test sample.
    fast_path_tolerance: float = Field(1e-6, gt=0)
    # Champion/challenger traffic per dataset at start-up (a dataset not named here: "off");
    # POST /v1/admin/{dataset}/traffic changes it while the server runs.
    traffic: dict[str, TrafficSettings] = {"california": TrafficSettings(),
                                           "bengaluru": TrafficSettings()}
    # State shared by the worker processes of one server run (run-time traffic changes, metric
    # files). `homeprice serve --workers N` (N > 1) creates it and removes it at exit; unset: one
    # process, nothing to share.
    run_dir: Path | None = None

    def traffic_for(self, dataset: str) -> TrafficSettings:
        """The start-up traffic setting of `dataset`."""
        return self.traffic.get(dataset) or TrafficSettings()


class ABSettings(BaseModel):
    """Live A/B decision thresholds (see monitoring/abtest.py)."""

    min_feedback: int = Field(100, ge=2)
    alpha: float = Field(0.05, gt=0, lt=1)
    # The confidence sequences are tightest around this many labels per variant.
    t_star: int = Field(500, ge=10)
    # Roll back when the champion's live MAE exceeds its offline MAE by more than this share.
    degradation_tolerance: float = Field(0.2, ge=0)


class MonitoringSettings(BaseModel):
    """Drift monitoring."""

    # Alert when at least this share of the model inputs drifted (Evidently's per-column tests).
    drift_share_threshold: float = Field(0.3, gt=0, le=1)
    # Evidently is slow on large frames: the window is sampled down to this many requests.
    max_rows: int = Field(5000, ge=50)
    # Tuning budget of `monitor drift --retrain` (a name under training.budgets).
    retrain_budget: str = "default"


class UiSettings(BaseModel):
    """The web UI (`homeprice ui`): a client of the HTTP API."""

    # The API the UI talks to (HOMEPRICE_UI__API_URL; `homeprice ui --api-url` sets it).
    api_url: str = "http://127.0.0.1:8000"
    # Loopback by default, like the API: open it to the network on purpose.
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    # Seconds to wait for an answer; a batch chunk of 500 homes takes well under this.
    timeout_seconds: float = Field(30.0, gt=0)
    # Uploaded files are sent in chunks of this many rows (a progress step each).
    batch_chunk_rows: int = Field(500, ge=1)


def config_file() -> Path | None:
    """The YAML file in force: $HOMEPRICE_CONFIG, ./config/homeprice.yaml, or the repository's."""
    explicit = os.environ.get("HOMEPRICE_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path("config") / "homeprice.yaml", _REPO_CONFIG):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    """All homeprice settings."""

    model_config = SettingsConfigDict(
        env_prefix="HOMEPRICE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Path(".homeprice")
    lake_url: str | None = None
    data_dir: Path | None = None
    split: SplitSettings = SplitSettings()
    validation: ValidationSettings = ValidationSettings()
    datasets: DatasetsSettings = DatasetsSettings()
    training: TrainingSettings = TrainingSettings()
    gate: GateSettings = GateSettings()
    tracking: TrackingSettings = TrackingSettings()
    serving: ServingSettings = ServingSettings()
    ab: ABSettings = ABSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    ui: UiSettings = UiSettings()
    # Where decisions and alerts are POSTed as JSON (HOMEPRICE_WEBHOOK_URL); unset = none.
    webhook_url: str | None = None
    # Prediction log database (HOMEPRICE_LOG_DB_URL); default sqlite:///<home>/predictions.db.
    log_db_url: str | None = None
    # Bearer token of the admin endpoints (HOMEPRICE_ADMIN_TOKEN); unset = admin disabled.
    admin_token: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @property
    def lake_root(self) -> str:
        """The lake's root URL or path."""
        return self.lake_url or str(self.home / "lake")

    @property
    def reports_dir(self) -> Path:
        """Where quality and cleaning reports are written."""
        return self.home / "reports"

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI: $MLFLOW_TRACKING_URI, tracking.uri, or sqlite in the home."""
        return (os.environ.get("MLFLOW_TRACKING_URI") or self.tracking.uri
                or f"sqlite:///{self.home.resolve() / 'mlflow.db'}")

    @property
    def log_url(self) -> str:
        """Prediction log database URL."""
        return self.log_db_url or f"sqlite:///{self.home.resolve() / 'predictions.db'}"

    @property
    def artifacts_uri(self) -> str:
        """Where MLflow stores run artifacts (never ./mlruns)."""
        return (self.home.resolve() / "artifacts").as_uri()

    def source_dirs(self) -> list[Path]:
        """Folders searched for dataset source files, in order."""
        if self.data_dir is not None:
            return [self.data_dir]
        return [_SHARED_DATA] if _SHARED_DATA.is_dir() else []

    def resolved(self) -> dict[str, Any]:
        """The settings as plain JSON-able data (logged with every run)."""
        return self.model_dump(mode="json")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the YAML file and environment, with explicit overrides on top."""
    return Settings(**overrides)
