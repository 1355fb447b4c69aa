"""A traffic simulator: replay test-split homes against a running server as several clients,
send the true price back as feedback for a share of them, and optionally shift features.

It is how a user (and the end-to-end tests) see the whole loop work: predictions are logged,
feedback labels them, `ab evaluate` decides and `monitor drift` notices shifted inputs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np

from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import UserInputError
from homeprice.training.runner import load_split

# Feedback answered 503 means "the prediction's row is not written yet, send again" (the log
# is behind): a trusted sender retries, a few times and with a bounded wait, before it counts
# the label as lost.
FEEDBACK_ATTEMPTS = 4
FEEDBACK_RETRY_SECONDS = 1.0
FEEDBACK_MAX_WAIT_SECONDS = 10.0


@dataclass
class SimulationResult:
    """What the simulator sent and got back."""

    sent: int = 0
    answered: int = 0
    failed: int = 0
    feedback: int = 0
    variants: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)
    # Feedback the server refused for its token, by status (401 wrong, 403 disabled, 429).
    refused_feedback: Counter = field(default_factory=Counter)
    # Feedback sent again after a 503 ("send again"), and labels lost after every attempt.
    feedback_retries: int = 0
    lost_feedback: int = 0


def _retry_wait(response: httpx.Response) -> float:
    """How long to wait before sending feedback again: the server's Retry-After (seconds)
    when it gives one, bounded so a hostile or broken value cannot stall the simulator."""
    try:
        wait = float(response.headers.get("Retry-After", FEEDBACK_RETRY_SECONDS))
    except ValueError:
        wait = FEEDBACK_RETRY_SECONDS
    return min(max(wait, 0.0), FEEDBACK_MAX_WAIT_SECONDS)


def send_feedback(http: httpx.Client, dataset: str, headers: dict[str, str], payload: dict,
                  result: SimulationResult, lock: threading.Lock) -> httpx.Response | None:
    """POST one label, sending it again while the server answers 503; None when the
    connection failed. Retries and lost labels are counted in `result`."""
    response = None
    for attempt in range(FEEDBACK_ATTEMPTS):
        try:
            response = http.post(f"/v1/{dataset}/feedback", headers=headers, json=payload)
        except httpx.HTTPError:
            response = None
            break
        if response.status_code != 503 or attempt == FEEDBACK_ATTEMPTS - 1:
            break
        with lock:
            result.feedback_retries += 1
        time.sleep(_retry_wait(response))
    if response is None or response.status_code != 200:
        with lock:
            result.lost_feedback += 1
    return response


def parse_drift(specs: list[str]) -> dict[str, float]:
    """["median_income:+30%", "total_rooms:-10%"] -> {"median_income": 0.3, ...}."""
    shifts = {}
    for spec in specs:
        column, _, amount = spec.partition(":")
        try:
            shifts[column.strip()] = float(amount.strip().rstrip("%")) / 100
        except ValueError:
            raise UserInputError(f"drift {spec!r} must look like median_income:+30%") from None
    return shifts


def requests_from_split(dataset_name: str, settings: Settings) -> tuple[list[dict], np.ndarray]:
    """API request bodies (as the dataset writes them) and true prices for the test split."""
    dataset = get_dataset(dataset_name)
    split, _ = load_split(dataset, settings)
    test = split.test
    bodies = [dataset.request_body(row) for _, row in test.iterrows()]
    return bodies, test[dataset.target].to_numpy(dtype=float)


def simulate(dataset: str, settings: Settings, url: str, requests: int,
             feedback_rate: float = 0.5, drift: dict[str, float] | None = None, seed: int = 0,
             clients: int = 8) -> SimulationResult:
    """Send `requests` predictions (and feedback for a share) from `clients` threads; the
    feedback carries settings.feedback_token (HOMEPRICE_FEEDBACK_TOKEN) as a bearer token."""
    if not 0 <= feedback_rate <= 1:
        raise UserInputError(f"feedback rate must be between 0 and 1, got {feedback_rate}")
    token = settings.feedback_token.get_secret_value() if settings.feedback_token else ""
    if feedback_rate > 0 and not token:
        raise UserInputError("feedback needs the server's feedback token: set "
                             "HOMEPRICE_FEEDBACK_TOKEN (or pass --feedback-rate 0)")
    # Sent on feedback posts only: predictions stay anonymous, as a public client's would.
    feedback_headers = {"Authorization": f"Bearer {token}"}
    bodies, prices = requests_from_split(dataset, settings)
    for column in drift or {}:
        if not any(isinstance(b.get(column), int | float) and not isinstance(b.get(column), bool)
                   for b in bodies):
            raise UserInputError(f"cannot drift {column!r}: not a numeric field of {dataset}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(bodies), requests)
    labels = rng.random(requests) < feedback_rate
    result = SimulationResult()
    lock = threading.Lock()
    base = url.rstrip("/")

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30,
                          headers={"X-Client-Id": f"sim-{seed}-{k}"}) as http:
            for i in range(k, requests, clients):
                body = dict(bodies[picks[i]])
                for column, shift in (drift or {}).items():
                    if body.get(column) is not None:
                        body[column] = float(body[column]) * (1 + shift)
                try:
                    response = http.post(f"/v1/{dataset}/predict", json=body)
                except httpx.HTTPError:
                    response = None
                ok = response is not None and response.status_code == 200
                answer = response.json() if ok else {}
                fed = False
                if ok and labels[i]:
                    # A lost label is counted, not fatal: the client goes on.
                    feedback = send_feedback(
                        http, dataset, feedback_headers,
                        {"prediction_id": answer["prediction_id"],
                         "actual_price": float(prices[picks[i]])}, result, lock)
                    fed = feedback is not None and feedback.status_code == 200
                    if feedback is not None and feedback.status_code in (401, 403, 429):
                        with lock:
                            result.refused_feedback[feedback.status_code] += 1
                with lock:
                    result.sent += 1
                    result.answered += ok
                    result.failed += not ok
                    result.feedback += fed
                    if ok:
                        result.variants[answer["variant"]] += 1
                        result.versions[answer["model_version"]] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if result.refused_feedback:
        # Every label was lost for the same reason: say it once, clearly, not as a count.
        raise UserInputError(f"the server refused feedback {dict(result.refused_feedback)}: "
                             "HOMEPRICE_FEEDBACK_TOKEN here must equal the server's (401), "
                             "the server must have one (403), and too many failures lock this "
                             "address out for a while (429)")
    return result
