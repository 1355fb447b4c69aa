"""The traffic simulator sends feedback with HOMEPRICE_FEEDBACK_TOKEN (predictions without it),
refuses to start without one when it is to send feedback, and stops with a clear reason when
the server refuses its feedback."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from homeprice.config import Settings
from homeprice.errors import UserInputError
from homeprice.monitoring.simulate import FEEDBACK_ATTEMPTS, simulate
from tests.support.tokens import FEEDBACK_TOKEN


class Seen:
    """What the stand-in server received: (path, Authorization header) per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()
        # Feedback answered 503 "send again" (Retry-After: 0) this many times per label first.
        self.busy_per_label = 0
        self.attempts: Counter[str] = Counter()


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    """A stand-in for `homeprice serve` on 127.0.0.1: prices anything, and takes feedback only
    with FEEDBACK_TOKEN as a bearer token (401 otherwise), like the real edge guard."""
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            authorization = self.headers.get("Authorization")
            with seen.lock:
                seen.requests.append((self.path, authorization))
                seen.attempts[sent.get("prediction_id", "")] += 1
                attempt = seen.attempts[sent.get("prediction_id", "")]
            extra = {}
            if self.path.endswith("/predict"):
                status, body = 200, {"prediction_id": uuid.uuid4().hex, "variant": "champion",
                                     "model_version": "1"}
            elif authorization == f"Bearer {FEEDBACK_TOKEN}" and attempt <= seen.busy_per_label:
                status, body = 503, {"detail": "the prediction log is behind: send again"}
                extra = {"Retry-After": "0"}
            elif authorization == f"Bearer {FEEDBACK_TOKEN}":
                status, body = 200, {"prediction_id": "x"}
            else:
                status, body = 401, {"detail": "missing or wrong bearer token"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def with_token(settings: Settings, token: str | None) -> Settings:
    return settings.model_copy(update={"feedback_token": SecretStr(token) if token else None})


def test_feedback_carries_the_token_and_predictions_do_not(
        serving_settings: Settings, server: tuple[str, Seen]) -> None:
    url, seen = server
    result = simulate("california", with_token(serving_settings, FEEDBACK_TOKEN), url, 12,
                      feedback_rate=1.0, clients=3)
    assert (result.answered, result.feedback) == (12, 12)
    feedback = [auth for path, auth in seen.requests if path.endswith("/feedback")]
    predict = [auth for path, auth in seen.requests if path.endswith("/predict")]
    assert feedback == [f"Bearer {FEEDBACK_TOKEN}"] * 12
    assert predict == [None] * 12


def test_without_a_token_feedback_is_refused_before_any_request(
        serving_settings: Settings, server: tuple[str, Seen]) -> None:
    url, seen = server
    with pytest.raises(UserInputError, match="set HOMEPRICE_FEEDBACK_TOKEN"):
        simulate("california", with_token(serving_settings, None), url, 5, feedback_rate=0.5)
    assert seen.requests == []
    # Without feedback no token is needed.
    result = simulate("california", with_token(serving_settings, None), url, 5,
                      feedback_rate=0.0, clients=1)
    assert (result.answered, result.feedback) == (5, 0)


def test_a_token_the_server_refuses_stops_with_the_reason(
        serving_settings: Settings, server: tuple[str, Seen]) -> None:
    url, _ = server
    with pytest.raises(UserInputError, match=r"refused feedback \{401: 6\}.*"
                                             "HOMEPRICE_FEEDBACK_TOKEN"):
        simulate("california", with_token(serving_settings, "not-the-servers-token"), url, 6,
                 feedback_rate=1.0, clients=2)


def test_feedback_answered_send_again_is_sent_again(
        serving_settings: Settings, server: tuple[str, Seen]) -> None:
    """Guards the 503 contract ("the log is behind: send again"): the simulator once counted
    those labels as lost, so live evaluation saw fewer labels than were given."""
    url, seen = server
    seen.busy_per_label = 2
    result = simulate("california", with_token(serving_settings, FEEDBACK_TOKEN), url, 6,
                      feedback_rate=1.0, clients=2)
    assert (result.feedback, result.feedback_retries, result.lost_feedback) == (6, 12, 0)
    assert sum(1 for path, _ in seen.requests if path.endswith("/feedback")) == 18


def test_a_label_still_refused_after_every_attempt_is_counted_lost(
        serving_settings: Settings, server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.busy_per_label = FEEDBACK_ATTEMPTS  # busy on every attempt the simulator makes
    result = simulate("california", with_token(serving_settings, FEEDBACK_TOKEN), url, 3,
                      feedback_rate=1.0, clients=1)
    assert (result.answered, result.feedback, result.lost_feedback) == (3, 0, 3)
    assert result.feedback_retries == 3 * (FEEDBACK_ATTEMPTS - 1)
    posts = sum(1 for path, _ in seen.requests if path.endswith("/feedback"))
    assert posts == 3 * FEEDBACK_ATTEMPTS
