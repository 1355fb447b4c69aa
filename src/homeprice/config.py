"""Typed settings: code defaults, then config/homeprice.yaml, then HOMEPRICE_* environment
variables; per-dataset sections come from the dataset plug-ins."""

from __future__ import annotations

import json
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from homeprice.masking import mask_tree, mask_webhook_url

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
    def _fractions_sum_to_one(self) -> SplitSettings:
        total = self.train + self.calibration + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, got {total:.4f}")
        return self


class ValidationSettings(BaseModel):
    """Data quality report thresholds."""

    iqr_factor: float = Field(1.5, gt=0)


# What tuning minimises and candidates are chosen on (homeprice.training.tuning).
TuningMetric = Literal["rmse", "log_rmse"]


class DatasetSettings(BaseModel):
    """What every dataset's settings hold; a dataset plug-in subclasses it with its cleaning
    rules and its own defaults (`homeprice/datasets/<name>/settings.py`)."""

    # Fit on log price (errors are multiplicative in listings); predictions come back in the
    # target unit.
    log_target: bool = False
    # What tuning minimises and candidates are chosen on, by cross-validation: rmse (of the
    # price) or log_rmse (of the log price: relative errors, so a few dear listings do not
    # decide which model wins).
    tuning_metric: TuningMetric = "rmse"
    # Promotion gate: absolute limits on test metrics, "max_<metric>" or "min_<metric>". The
    # mapping is the dataset's whole rule set: giving it replaces the plug-in's defaults.
    gate: dict[str, float] = {}
    # Feedback: the plausible range of an actual price, in the target's unit (inclusive); a
    # label outside it is refused (422), so one typo or 1e300 cannot swamp live error metrics.
    actual_price_range: tuple[float, float] = (1e-6, 1e12)

    @field_validator("actual_price_range")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
            raise ValueError(f"must be two finite prices with 0 < low < high, got {value}")
        return value


class DatasetsSettings(BaseModel):
    """Per-dataset settings, one section per known dataset (`datasets.<name>`).

    Which sections exist and what they hold comes from the dataset plug-ins: each section is
    validated by its plug-in's settings model, and a dataset with no section gets that model's
    defaults. Sections read as attributes (`settings.datasets.<name>`) or by name.
    """

    # The sections are the plug-ins' models, kept as extra attributes (known only at run time).
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="wrap")
    @classmethod
    def _by_plugin(cls, data: Any, handler: ModelWrapValidatorHandler[DatasetsSettings]
                   ) -> DatasetsSettings:
        if isinstance(data, DatasetsSettings):
            return data
        if isinstance(data, BaseModel):
            data = data.model_dump()
        from homeprice.datasets.catalogue import plugins

        known = plugins()
        raw = dict(data or {})
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"no dataset plug-in named {', '.join(map(repr, unknown))} "
                             f"(known: {', '.join(known)}; name extra plug-in modules in "
                             "`plugins` or HOMEPRICE_PLUGINS)")
        sections: dict[str, DatasetSettings] = {}
        errors: list[InitErrorDetails] = []
        for name, plugin in known.items():
            model = plugin.settings_model
            try:
                section = _decode_json_strings(model, raw.get(name) or {})
                sections[name] = model.model_validate(section)
            except ValidationError as error:
                # Re-raised under the section's name, so the message says
                # datasets.<name>.<field> like any other settings error.
                errors += [InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]),
                                            loc=(name, *e["loc"]), input=e["input"])
                           for e in error.errors()]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler(sections)

    def __getitem__(self, name: str) -> DatasetSettings:
        """The section of dataset `name`."""
        section = (self.model_extra or {}).get(name)
        if section is None:
            raise KeyError(name)
        return section

    def sections(self) -> dict[str, DatasetSettings]:
        """Every dataset's section, by name."""
        return dict(self.model_extra or {})


def _decode_json_strings(model: type[BaseModel], section: Any) -> Any:
    """Decode JSON values given as strings (HOMEPRICE_DATASETS__<NAME>__<FIELD>='[1, 2]').

    pydantic-settings decodes such values only for fields it knows, and a dataset's fields are
    known only to its plug-in, so its list/tuple/dict values arrive here as strings.
    """
    if not isinstance(section, dict):
        return section
    decoded = dict(section)
    for key, value in section.items():
        field = model.model_fields.get(key)
        if (field is not None and field.annotation is not str and isinstance(value, str)
                and value.lstrip().startswith(("[", "{"))):
            try:
                decoded[key] = json.loads(value)
            except ValueError:
                pass  # left to the model, whose error names the field
    return decoded


def _default_datasets() -> DatasetsSettings:
    return DatasetsSettings.model_validate({})


def _known_datasets() -> list[str]:
    from homeprice.datasets.catalogue import default_dataset_names

    return default_dataset_names()


class BudgetSettings(BaseModel):
    """How much tuning a budget buys, as work: Optuna trials per candidate and CV folds.

    Work, not wall time, so the same budget gives the same model on a busy and an idle
    machine. `cap_seconds` is only a safety net per candidate: when it bites, the trial count
    (and so the model) depends on the machine, and training says so (a warning and the child
    run's `tuning_capped` tag).
    """

    # One count for every candidate, or a count per candidate (cheap ones can afford more).
    trials: int | dict[str, int]
    # None: no cap. Reproduction uses it to replay exactly the logged number of trials.
    cap_seconds: float | None = Field(None, gt=0)
    cv_folds: int = Field(ge=2)

    @model_validator(mode="before")
    @classmethod
    def _renamed_timeout(cls, data: Any) -> Any:
        # Older configs (and the resolved.json of older runs) say timeout_seconds: keep their
        # cap rather than silently dropping it, and name the new key.
        if isinstance(data, dict) and "timeout_seconds" in data:
            warnings.warn("training.budgets.<name>.timeout_seconds is deprecated: set "
                          "cap_seconds (a budget is a number of trials; the cap is only a "
                          "safety net)", DeprecationWarning, stacklevel=2)
            data = {k: v for k, v in data.items() if k != "timeout_seconds"} | {
                "cap_seconds": data.get("cap_seconds", data["timeout_seconds"])}
        return data

    @field_validator("trials")
    @classmethod
    def _positive_trials(cls, value: int | dict[str, int]) -> int | dict[str, int]:
        counts = value.values() if isinstance(value, dict) else [value]
        if any(count < 1 for count in counts):
            raise ValueError("trial counts must be at least 1")
        return value

    def trials_for(self, candidate: str) -> int:
        """The trial count of one candidate (an error naming it when the budget has none)."""
        if isinstance(self.trials, int):
            return self.trials
        if candidate not in self.trials:
            raise ValueError(f"the budget gives no trial count for candidate {candidate!r} "
                             f"(it has: {', '.join(self.trials)})")
        return self.trials[candidate]


class TrainingSettings(BaseModel):
    """Candidates, tuning budgets and prediction intervals."""

    candidates: list[str] = ["ridge", "tree", "forest", "lightgbm"]
    budgets: dict[str, BudgetSettings] = {
        "fast": BudgetSettings(trials=1, cap_seconds=60, cv_folds=2),
        "default": BudgetSettings(trials={"ridge": 12, "tree": 16, "forest": 6, "lightgbm": 12},
                                  cap_seconds=600, cv_folds=3),
        "thorough": BudgetSettings(trials=100, cap_seconds=3600, cv_folds=5),
    }
    # Threads for LightGBM and random forests; fixed, so LightGBM results are reproducible.
    n_jobs: int = Field(2, ge=1)
    interval_alpha: float = Field(0.1, gt=0, lt=1)
    interval_bins: int = Field(5, ge=1)
    interval_score: str = "relative"
    # How the intervals are calibrated (homeprice.training.fitting). cross: the served model is
    # fitted (and tuned) on train + calibration rows and its bands come from out-of-fold
    # residuals over `interval_folds` folds; split: fitted on train, calibrated on the
    # calibration split (split conformal, with its finite-sample guarantee).
    interval_calibration: Literal["cross", "split"] = "cross"
    interval_folds: int = Field(5, ge=2, le=20)


GateMode = Literal["offline", "live"]


class GateSettings(BaseModel):
    """Promotion gate: the margin over the champion (absolute thresholds: datasets.<name>.gate)."""

    # The challenger's test RMSE must be at least this fraction below the champion's.
    min_improvement: float = Field(0.005, ge=0)
    # What a passing version becomes when there is a champion already. live: it stays the
    # challenger, the servers shadow-score it (traffic mode auto) and `ab evaluate --apply`
    # promotes or retires it on live evidence; a failing one loses the challenger alias, so it
    # never gets live traffic. offline: it is promoted at once (and a failing one stays the
    # challenger). With no champion yet, a passing version becomes champion in both modes: a
    # first install must serve.
    mode: GateMode = "live"


class TrackingSettings(BaseModel):
    """MLflow tracking; MLFLOW_TRACKING_URI wins over `uri`, default sqlite in HOMEPRICE_HOME."""

    uri: str | None = None


TrafficMode = Literal["off", "split", "shadow", "auto"]
# How requests are actually routed at a moment: auto resolves to one of these.
EffectiveTrafficMode = Literal["off", "split", "shadow"]


class TrafficSettings(BaseModel):
    """How one dataset's requests are shared between its champion and challenger."""

    # off: champion only; split: `share` of the clients get the challenger's answer;
    # shadow: the champion answers and the challenger also prices every request, logged only;
    # auto: shadow while a challenger exists, off otherwise (so a version the gate leaves as
    # challenger gets live evidence without anyone switching the traffic).
    mode: TrafficMode = "auto"
    share: float = Field(0.2, ge=0, le=1)

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `off` as false.
        return "off" if value is False else value

    def effective(self, has_challenger: bool) -> EffectiveTrafficMode:
        """How requests are routed under this setting: without a challenger every mode routes
        to the champion alone ("off"); auto shadows whenever there is one."""
        if not has_challenger or self.mode == "off":
            return "off"
        return "shadow" if self.mode == "auto" else self.mode


class ServingSettings(BaseModel):
    """The prediction service."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # The datasets served (default: every known dataset but the scraped ones, which have no
    # model until scraped and trained: name them to serve them).
    datasets: list[str] = Field(default_factory=_known_datasets)
    max_batch: int = Field(10_000, ge=1)
    # POST /v1/{dataset}/comparables: the most comps per home (`k`) and homes per request
    # (each home costs k records in the answer, so its batches are smaller than predict's).
    comparables_max_k: int = Field(50, ge=1, le=1000)
    comparables_max_batch: int = Field(1000, ge=1)
    # Server processes; each loads the models and writes its own log batches. "auto": one per
    # core this process may use (CPU affinity and a cgroup CPU quota both count), at most
    # AUTO_WORKERS_MAX (api/server.worker_count). The container image sets 1: replicas scale.
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    # How often the server looks up the registry aliases for a newly promoted model.
    reload_interval_seconds: float = Field(10.0, gt=0)
    # Every prediction is logged (needed by feedback, live A/B evaluation, replay and drift);
    # false answers without logging, e.g. to measure what logging costs (benchmarks/serve.py).
    log_predictions: bool = True
    # After the loaded models change, collect once and freeze the survivors (serving/heap.py):
    # the garbage collector then never walks the models' objects on the request path.
    freeze_heap: bool = True
    log_batch_size: int = Field(500, ge=1)
    log_queue_size: int = Field(100_000, ge=1)
    # A full log queue spills to JSON-lines files here (default <home>/log-spill), replayed into
    # the database once it answers; each server process spills at most log_spill_max_bytes,
    # then drops with a count. 0 turns spilling off (a full queue drops at once).
    log_spill_dir: Path | None = None
    log_spill_max_bytes: int = Field(256 * 2**20, ge=0)
    # On shutdown the log drains for at most this long; what is left is spilled (not lost).
    log_shutdown_grace_seconds: float = Field(10.0, gt=0)
    # Shadow scoring backlog, in homes (a batch of 1,000 counts 1,000); beyond it, skipped.
    shadow_max_rows: int = Field(10_000, ge=1)
    # The fast path must agree with the sklearn pipeline on the stored test sample.
    fast_path_tolerance: float = Field(1e-6, gt=0)
    # Compile LightGBM models' trees to native code (lleaves) in a background process, cached
    # in <home>/cache/compiled-trees, and answer through them once they agree with the
    # pipeline like the rest of the fast path (homeprice.serving.compiledtrees): several times
    # faster trees, after a compile of minutes per model and machine.
    compiled_trees: bool = True
    # Feedback that arrives before its prediction's log row waits (asynchronously, no worker
    # thread held) up to this long for the row; then 503 "retry" while the log is behind.
    feedback_wait_seconds: float = Field(5.0, ge=0, le=30)
    # Champion/challenger traffic per dataset at start-up (a dataset not named here: "auto" with
    # the default share); POST /v1/admin/{dataset}/traffic changes it while the server runs.
    traffic: dict[str, TrafficSettings] = {}
    # State shared by the worker processes of one server run (run-time traffic changes, metric
    # files). `homeprice serve --workers N` (N > 1) creates it and removes it at exit; unset: one
    # process, nothing to share.
    run_dir: Path | None = None
    # -- edge limits and security (README "Security") ---------------------------------------
    # Bytes one predict instance may take as JSON (Bengaluru texts are bounded at 100
    # characters, escapes included); predict bodies are refused above max_batch times this
    # (plus an envelope) unless max_predict_body_bytes says otherwise, before parsing.
    max_record_bytes: int = Field(2048, ge=64)
    max_predict_body_bytes: int | None = Field(None, ge=1)
    max_feedback_body_bytes: int = Field(4096, ge=64)
    max_admin_body_bytes: int = Field(16_384, ge=64)
    # Any other route (explain, insights, health): one record's worth is plenty.
    max_other_body_bytes: int = Field(65_536, ge=64)
    # A shorter HOMEPRICE_ADMIN_TOKEN refuses to start (a short token is guessable).
    admin_token_min_length: int = Field(16, ge=1)
    # After this many failed admin attempts from one client address within the window,
    # its admin requests get 429 for the lockout period.
    admin_max_failures: int = Field(5, ge=1)
    admin_failure_window_seconds: float = Field(60.0, gt=0)
    admin_lockout_seconds: float = Field(300.0, gt=0)
    # GET /v1/insights/*: results shared per dataset for this long (0 = no cache), at most
    # this many computations at once (more get 503 with Retry-After), and an optional bearer
    # token (HOMEPRICE_SERVING__READ_TOKEN; unset = anonymous, as the web UI expects).
    insights_cache_seconds: float = Field(10.0, ge=0)
    insights_max_concurrent: int = Field(2, ge=1)
    read_token: SecretStr | None = None

    @property
    def predict_body_bytes(self) -> int:
        """The byte limit of a predict body: explicit, or max_batch records plus an envelope."""
        return self.max_predict_body_bytes or self.max_batch * self.max_record_bytes + 4096

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
    # Decisions use absolute errors capped at this multiple of the champion's offline MAE
    # (fixed before the pair starts), so no single label dominates; above 1 + tolerance, or
    # a degraded champion could never be shown to be one.
    loss_cap: float = Field(10.0, gt=1)
    # Split mode: clients per arm before any decision (one client sees one model, so clients
    # are the evidence), and the client count where the client-level sequence is tightest.
    min_clients: int = Field(30, ge=2)
    t_star_clients: int = Field(100, ge=2)
    # Assumed correlation of the two models' capped errors in shadow mode: tunes where the
    # paired sequence is tightest, never its error rate.
    paired_correlation: float = Field(0.8, ge=0, lt=1)

    @model_validator(mode="after")
    def _cap_above_tolerance(self) -> ABSettings:
        if self.loss_cap <= 1 + self.degradation_tolerance:
            raise ValueError(f"ab.loss_cap ({self.loss_cap:g}) must exceed 1 + "
                             f"ab.degradation_tolerance ({1 + self.degradation_tolerance:g}): "
                             "a capped MAE could never show the degradation")
        return self


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


class ScrapingSettings(BaseModel):
    """The weekly ingest of listings (`dags/homeprice_ingest.py`): which site configs to scrape."""

    # Site config files (YAML, see config/sites/), scraped one after another by the ingest DAG
    # (HOMEPRICE_SCRAPING__SITES='["config/sites/mine.yaml"]'). Empty: nothing is scraped.
    sites: list[Path] = []
    # Results pages per site and run, below each site config's own cap (None: the config's).
    max_pages: int | None = Field(None, ge=1)


class LogRetentionSettings(BaseModel):
    """Prediction log retention: old rows are archived to the lake as Parquet, then deleted."""

    # Predictions (and their feedback) older than this are archived and pruned by
    # `homeprice log prune` and the hourly live-evaluation DAG; e.g. 90d, 12h, 2w.
    older_than: str = "90d"
    # Predictions per archive-and-delete step (their shadows and feedback go with them): each
    # step's delete is one short transaction, so the live writer never waits long for it.
    batch_size: int = Field(1000, ge=1, le=10_000)

    @field_validator("older_than")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        from homeprice.durations import parse_duration
        from homeprice.errors import UserInputError

        try:
            parse_duration(value, "older_than")
        except UserInputError as error:
            # pydantic reports ValueErrors with the field's location; other errors escape raw.
            raise ValueError(str(error)) from None
        return value


def config_file() -> Path | None:
    """The YAML file in force: $HOMEPRICE_CONFIG, ./config/homeprice.yaml, or the repository's."""
    explicit = os.environ.get("HOMEPRICE_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path("config") / "homeprice.yaml", _REPO_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def _module_list(value: Any) -> Any:
    """A comma-separated string (HOMEPRICE_PLUGINS=a.b,c.d) or a JSON list as a list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def configured_plugins() -> list[str]:
    """Extra dataset plug-in modules: $HOMEPRICE_PLUGINS, else `plugins` in the YAML file.

    The same sources as `Settings.plugins`, read without building the settings (which need the
    plug-ins first), so listing the datasets stays cheap.
    """
    explicit = os.environ.get("HOMEPRICE_PLUGINS")
    if explicit is not None:
        return list(_module_list(explicit))
    path = config_file()
    if path is None or not path.is_file():
        return []
    return list(_yaml_plugins(str(path), path.stat().st_mtime_ns))


@lru_cache(maxsize=8)
def _yaml_plugins(path: str, mtime_ns: int) -> tuple[str, ...]:
    # Cached by modification time: dataset lookups happen per request.
    data = yaml.safe_load(Path(path).read_text()) or {}
    return tuple(_module_list(data.get("plugins") or []))


# Keys that used to name datasets outside their section, and where they live now.
_MOVED_KEYS = (("training", "log_target", "log_target"), ("gate", "thresholds", "gate"))


def _move_dataset_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Read the old per-dataset keys (training.log_target.<name>, gate.thresholds.<name>) into
    datasets.<name>, where they live now; a value given at the new place wins."""
    data = dict(data)
    for section, key, new_key in _MOVED_KEYS:
        old = data.get(section)
        if not isinstance(old, dict) or key not in old:
            continue
        warnings.warn(f"{section}.{key} is deprecated: set datasets.<name>.{new_key} instead",
                      DeprecationWarning, stacklevel=2)
        data[section] = {k: v for k, v in old.items() if k != key}
        datasets = dict(data.get("datasets") or {})
        for name, value in (old[key] or {}).items():
            entry = dict(datasets.get(name) or {})
            entry.setdefault(new_key, value)
            datasets[name] = entry
        data["datasets"] = datasets
    return data


class Settings(BaseSettings):
    """All homeprice settings."""

    model_config = SettingsConfigDict(
        env_prefix="HOMEPRICE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Path(".homeprice")
    lake_url: str | None = None
    data_dir: Path | None = None
    # Engine of the clean step (`data clean`, `pipeline run`; HOMEPRICE_DATA_ENGINE): local
    # (pandas) or spark (PySpark, the spark extra and Java 17/21).
    data_engine: Literal["local", "spark"] = "local"
    # The Spark engine's master (HOMEPRICE_SPARK_MASTER: local[N], spark://host:port, yarn,
    # k8s://...) and driver heap (HOMEPRICE_SPARK_DRIVER_MEMORY), the latter applied before
    # the JVM starts: a driver's heap cannot grow later.
    spark_master: str = Field("local[*]", min_length=1)
    spark_driver_memory: str = Field("2g", pattern=r"^[1-9][0-9]*[kKmMgGtT]?$")
    split: SplitSettings = SplitSettings()
    validation: ValidationSettings = ValidationSettings()
    # Importable modules of extra dataset plug-ins (HOMEPRICE_PLUGINS="pkg.a,pkg.b"); the
    # built-in ones (the sub-packages of homeprice.datasets) are always known. Declared before
    # `datasets` and `serving`, whose defaults and sections depend on the known plug-ins.
    plugins: Annotated[list[str], NoDecode] = []
    datasets: DatasetsSettings = Field(default_factory=_default_datasets)
    training: TrainingSettings = TrainingSettings()
    gate: GateSettings = GateSettings()
    tracking: TrackingSettings = TrackingSettings()
    serving: ServingSettings = Field(default_factory=ServingSettings)
    ab: ABSettings = ABSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    ui: UiSettings = UiSettings()
    # Where decisions and alerts are POSTed as JSON (HOMEPRICE_WEBHOOK_URL); unset = none.
    # Out of repr (its path is a credential); resolved() shows it masked.
    webhook_url: str | None = Field(None, repr=False)
    # Listings scraped weekly by the ingest DAG.
    scraping: ScrapingSettings = ScrapingSettings()
    # Prediction log database (HOMEPRICE_LOG_DB_URL); default sqlite:///<home>/predictions.db.
    # Out of repr (it may hold a password); resolved() shows it masked.
    log_db_url: str | None = Field(None, repr=False)
    # Archive-then-delete of old prediction log rows (`homeprice log prune`).
    log_retention: LogRetentionSettings = LogRetentionSettings()
    # Bearer token of the admin endpoints (HOMEPRICE_ADMIN_TOKEN); unset = admin disabled.
    admin_token: SecretStr | None = None
    # Bearer token of POST /v1/{dataset}/feedback (HOMEPRICE_FEEDBACK_TOKEN), held by the
    # trusted back office that knows sale prices; unset = feedback disabled (403). The admin
    # token is not accepted in its place: labelling and promoting are separate duties.
    feedback_token: SecretStr | None = None

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

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        return _move_dataset_keys(data) if isinstance(data, dict) else data

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugin_list(cls, value: Any) -> Any:
        return _module_list(value)

    @field_validator("plugins")
    @classmethod
    def _register_plugins(cls, value: list[str]) -> list[str]:
        # Plug-ins given only here (e.g. as an argument of load_settings) join the process's
        # dataset list before `datasets` is read. Those of HOMEPRICE_PLUGINS or the YAML file
        # are listed from there already, and leave the list when they leave the environment.
        from homeprice.datasets.catalogue import register_plugins

        configured = configured_plugins()
        register_plugins([module for module in value if module not in configured])
        return value

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
        """The settings as plain JSON-able data with every secret masked (logged with every
        run): URL passwords, the webhook's path and query, tokens."""
        data = mask_tree(self.model_dump(mode="json"))
        if self.webhook_url:
            data["webhook_url"] = mask_webhook_url(self.webhook_url)
        return data


def load_settings(**overrides: Any) -> Settings:
    """Settings from the YAML file and environment, with explicit overrides on top."""
    return Settings(**overrides)
