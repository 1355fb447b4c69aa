"""The pipeline declaration: which steps run, in which order, with which inputs.

This is the only place that says so. `homeprice pipeline run` (homeprice.pipeline), the
Airflow training DAG (a task per declared step, built in a loop) and `homeprice pipeline step`
(the DVC stages, which a test checks against this declaration) all walk `STEPS`.

The contract is "ids in, ids out": a step takes the settings, the dataset name, the ids it
names in `inputs` (read from the JSON result of the step before it) and its run parameters,
and returns a JSON-able dict of ids (lake sha256s and versions, MLflow run ids, registry
versions; never data frames). What each step does lives in homeprice.step_functions.

This module imports nothing heavy: the Airflow DAG files import it at parse time, and the
step functions (MLflow, LightGBM, pandas) are imported only when a step runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from homeprice.config import Settings


@dataclass(frozen=True)
class StepResult:
    """What a step function returns: JSON ids for the next step, and its rich result.

    Orchestrators pass only `ids` on (XCom, DVC's JSON files). `homeprice pipeline run`
    also keeps `detail` (a quality report, a training outcome, a gate decision) to render it.
    """

    ids: dict[str, Any]
    detail: Any = None


StepFunction = Callable[..., StepResult]

ProgressHook = Callable[[str, str], None]
"""Called with (dataset, what is starting): a step's name, or a finer stage such as tuning."""


@dataclass(frozen=True)
class Step:
    """One declared step: its name, its function, the ids it takes and its run parameters."""

    name: str
    # "module:function", imported when the step runs (keeps this module light for Airflow).
    function: str
    # Keys of the previous step's result, passed positionally after the dataset name.
    inputs: tuple[str, ...] = ()
    # Run parameters passed as keywords when the run has them: the tuning budget, and
    # in-process a progress hook (orchestrators log instead).
    params: tuple[str, ...] = ()

    def resolve(self) -> StepFunction:
        """The step's function (imported now, not when this module is)."""
        module, _, attribute = self.function.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def __call__(self, settings: Settings, dataset: str, *inputs: Any, **params: Any
                 ) -> dict[str, Any]:
        """Run the step on its ids and return its result's ids."""
        return self.resolve()(settings, dataset, *inputs, **params).ids


_FUNCTIONS = "homeprice.step_functions"

STEPS: tuple[Step, ...] = (
    Step("fetch", f"{_FUNCTIONS}:fetch_step"),
    Step("validate", f"{_FUNCTIONS}:validate_step", inputs=("sha256",)),
    Step("clean", f"{_FUNCTIONS}:clean_step", inputs=("sha256",)),
    Step("split", f"{_FUNCTIONS}:split_step", inputs=("version",)),
    Step("train", f"{_FUNCTIONS}:train_step", inputs=("clean_version",),
         params=("budget", "progress")),
    Step("evaluate", f"{_FUNCTIONS}:evaluate_step", inputs=("run_id",)),
    Step("register", f"{_FUNCTIONS}:register_step", inputs=("run_id",)),
    Step("gate", f"{_FUNCTIONS}:gate_step", inputs=("version", "run_id")),
)

# `pipeline run --data-only` stops after this step: a clean version in the lake, no model.
LAST_DATA_STEP = "clean"


def step_names() -> list[str]:
    """The declared steps' names, in order."""
    return [step.name for step in STEPS]


def declared(data_only: bool = False) -> tuple[Step, ...]:
    """The declared steps in order; with `data_only`, up to LAST_DATA_STEP."""
    if not data_only:
        return STEPS
    return STEPS[:step_names().index(LAST_DATA_STEP) + 1]


def get_step(name: str) -> Step:
    """A step by name, or a clear error listing the steps."""
    for step in STEPS:
        if step.name == name:
            return step
    raise UserInputError(f"unknown step {name!r} (steps: {', '.join(step_names())})")


def bind(step: str, dataset: str, previous: Mapping[str, Any], params: Mapping[str, Any]
         ) -> Callable[[Settings], StepResult]:
    """A step bound to its inputs, taken from the previous step's result, and its params.

    Only the params the step declares are passed, and only those `params` holds (a step
    function gives a default to the optional ones, such as the progress hook).
    """
    declaration = get_step(step)
    missing = [key for key in declaration.inputs if key not in previous]
    if missing:
        raise UserInputError(f"step {step} needs {', '.join(missing)} from the previous "
                             "step's result (pass it with --after FILE)")
    if previous.get("dataset", dataset) != dataset:
        raise UserInputError(f"the previous step's result is for {previous['dataset']}, "
                             f"not {dataset}")
    args = [previous[key] for key in declaration.inputs]
    kwargs = {key: params[key] for key in declaration.params if key in params}
    return lambda settings: declaration.resolve()(settings, dataset, *args, **kwargs)


def step_arguments(step: str, dataset: str, previous: dict[str, Any], budget: str
                   ) -> Callable[[Settings], dict[str, Any]]:
    """Bind a step to its inputs, taken from the result of the step before it; JSON out.

    Every orchestrator chains steps this way: the DVC stages through the JSON files
    `homeprice pipeline step --after` reads, the Airflow tasks through XCom.
    """
    bound = bind(step, dataset, previous, {"budget": budget})
    return lambda settings: bound(settings).ids
