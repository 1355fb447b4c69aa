"""The predict shortcut: plainly valid JSON requests to /v1/{dataset}/predict, one home or a
batch, are answered by the edge guard itself, without FastAPI's routing, dependency solving,
request objects and standard-library JSON parsing; every other request goes on to the FastAPI
route with its body replayed.

"Plainly valid" means: one Content-Type header, exactly `application/json`; at most one
X-Client-Id header of at most 200 characters (the route's own limit); a body orjson parses
into an object; that object valid for the route's own body type (one home, or
{"instances": [...]}: the same pydantic union, validated the way FastAPI validates it, in
Python mode on the parsed JSON; a strict copy of the model is tried first, see
`schemas.strict_model`); and no more instances than serving.max_batch. The answer is
then computed by the same pricing call and rendered and counted by the same function as the
route's (`routes.predict.price_items` and `answered`). A request failing any check is not
answered here at all: the route answers it, so its 400/413/422 messages and the OpenAPI schema
are FastAPI's, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from homeprice.errors import HomepriceError
from homeprice.serving.dependencies import ServingContext
from homeprice.serving.routes.predict import answered, price_items
from homeprice.serving.schemas import ModelInput, request_body, strict_model

# The route's X-Client-Id limit (Header(max_length=200) in routes/predict.py).
MAX_CLIENT_ID = 200
_JSON = b"application/json"
_HEADERS = [(b"content-type", _JSON)]

ErrorHandler = Callable[[Request, HomepriceError], Awaitable[Response]]


class PredictShortcut:
    """Answers plainly valid predict requests, one home or a batch (see the module)."""

    def __init__(self, context: ServingContext,
                 bodies: Mapping[str, tuple[type[ModelInput], Any]],
                 on_error: ErrorHandler) -> None:
        """`bodies`: served dataset -> (its request model of one home, its /predict body
        type), as schemas.request_models gives them."""
        self._context = context
        # Path -> (dataset, validators of one home, validators of a batch): the strict copy
        # first, then the route's own model. A body without "instances" is the single model's
        # (the route's union discriminates on that key), validated without the union's
        # Python discriminator call. The served datasets only.
        self._paths = {f"/v1/{dataset}/predict": (
            dataset, (strict_model(single).model_validate, single.model_validate),
            (TypeAdapter(request_body(dataset, strict_model(single))).validate_python,
             TypeAdapter(body).validate_python))
            for dataset, (single, body) in bodies.items()}
        self._on_error = on_error

    def wants(self, scope: Scope) -> bool:
        """Whether the request may be answered here (its body is then read first)."""
        return scope["method"] == "POST" and scope["path"] in self._paths

    async def answer(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> bool:
        """Answer the request if it is plainly valid; False (nothing sent) otherwise."""
        client_id = _plain_headers(scope)
        if client_id is False:
            return False
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(data, dict):
            return False
        ctx = self._context
        instances = data.get("instances")
        if isinstance(instances, list) and len(instances) > ctx.settings.serving.max_batch:
            return False  # the route answers 413 (validating it here first would be wasted)
        dataset, singles, batches = self._paths[scope["path"]]
        parsed = _validated(data, batches if "instances" in data else singles)
        if parsed is None:
            return False
        batch = hasattr(parsed, "instances")
        items = parsed.instances if batch else [parsed]
        started = time.perf_counter()
        try:
            priced = await price_items(ctx.pricing, dataset, items, client_id)
        except HomepriceError as error:
            # The app's own handler: the same status, body and error count as the route's.
            response = await self._on_error(Request(scope, receive), error)
            await response(scope, receive, send)
            return True
        content = answered(ctx, dataset, priced, started, batch)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(content)).encode()), *_HEADERS]})
        await send({"type": "http.response.body", "body": content})
        return True


def _validated(data: dict, validators: tuple[Callable[[Any], Any], ...]) -> Any:
    """`data` validated by the first of `validators` that accepts it; None if none does."""
    for validate in validators:
        try:
            return validate(data)
        except ValidationError:
            continue
    return None


def _plain_headers(scope: Scope) -> str | None | bool:
    """The X-Client-Id of a request with plain headers (None: not sent); False when the
    headers are not plain (left to the route, which validates them)."""
    content_type: bytes | None = None
    client_id: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            if content_type is not None:
                return False
            content_type = value
        elif name == b"x-client-id":
            if client_id is not None:
                return False
            client_id = value
    if content_type is None or content_type.lower() != _JSON:
        return False
    if client_id is None:
        return None
    # Starlette decodes header values as latin-1, and the route counts characters of that.
    text = client_id.decode("latin-1")
    return text if len(text) <= MAX_CLIENT_ID else False
