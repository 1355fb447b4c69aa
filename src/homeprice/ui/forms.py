"""Form fields generated from the API's request models (its OpenAPI JSON schema).

The bounds, choices and required fields come from the API itself, so the form offers what the
API accepts and changes with it; whatever the schema cannot say (a parser's rule, such as how
an area is written) is checked by the API and its message is shown under the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

Kind = Literal["number", "integer", "choice", "text"]
# Numbers with an exclusive lower bound (gt=0) start one step above it: the widget has no
# exclusive bounds, and this is finer than any value the datasets record.
_EXCLUSIVE_STEP = 1e-4


@dataclass(frozen=True)
class FieldSpec:
    """One request field, as the form shows it."""

    name: str
    title: str
    kind: Kind
    required: bool
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    initial: Any = None
    help: str | None = None
    max_length: int | None = None


def request_schema(openapi: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The JSON schema of one home of `dataset` (the body of its explain endpoint)."""
    try:
        body = openapi["paths"][f"/v1/{dataset}/explain"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
    except KeyError:
        raise LookupError(f"the API does not serve {dataset!r}") from None
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _spec(name: str, prop: dict[str, Any], required: bool) -> FieldSpec:
    """A field from its JSON-schema property (a plain type, an enum, or an anyOf union)."""
    branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
    types = {b.get("type") for b in branches}
    enum = next((b["enum"] for b in branches if "enum" in b), None)
    # A number-or-text field ("2100 - 2850") takes text: the API parses it.
    kind: Kind = ("choice" if enum else "text" if "string" in types
                  else "integer" if types == {"integer"} else "number")
    bounded = next((b for b in branches if b.get("type") in ("number", "integer")), {})
    minimum = bounded.get("minimum")
    if minimum is None and "exclusiveMinimum" in bounded:
        minimum = bounded["exclusiveMinimum"] + (1 if kind == "integer" else _EXCLUSIVE_STEP)
    maximum = bounded.get("maximum")
    if maximum is None and "exclusiveMaximum" in bounded:
        maximum = bounded["exclusiveMaximum"] - (1 if kind == "integer" else _EXCLUSIVE_STEP)
    examples = prop.get("examples") or []
    initial = examples[0] if examples else prop.get("default")
    max_length = next((b["maxLength"] for b in branches if "maxLength" in b), None)
    return FieldSpec(name=name, title=prop.get("title") or name, kind=kind, required=required,
                     minimum=minimum, maximum=maximum, choices=tuple(enum or ()),
                     initial=initial, help=prop.get("description"), max_length=max_length)


def fields_for(openapi: dict[str, Any], dataset: str) -> list[FieldSpec]:
    """The fields of one home of `dataset`, in the API's order."""
    schema = request_schema(openapi, dataset)
    required = set(schema.get("required", []))
    return [_spec(name, prop, name in required)
            for name, prop in schema.get("properties", {}).items()]


def _number(spec: FieldSpec, key: str) -> float | int | None:
    cast = int if spec.kind == "integer" else float

    def bound(v: object) -> float | int | None:
        return None if v is None else cast(v)

    initial = bound(spec.initial) if isinstance(spec.initial, (int, float)) else None
    return st.number_input(spec.title, min_value=bound(spec.minimum),
                           max_value=bound(spec.maximum), value=initial, key=key,
                           help=spec.help, step=1 if spec.kind == "integer" else None,
                           format=None if spec.kind == "integer" else "%g")


def _choice(spec: FieldSpec, key: str, options: list[str] | None) -> str | None:
    # Known options from the API (e.g. locations) make a searchable select that still
    # accepts a new value: the model prices an unknown location as a rare one.
    choices = list(options) if options is not None else list(spec.choices)
    index = choices.index(spec.initial) if spec.initial in choices else (
        0 if spec.required and choices else None)
    return st.selectbox(spec.title, choices, index=index, key=key, help=spec.help,
                        accept_new_options=options is not None,
                        placeholder="Type to search" if options is not None else None)


def _text(spec: FieldSpec, key: str) -> str | None:
    initial = "" if spec.initial is None else str(spec.initial)
    value = st.text_input(spec.title, value=initial, key=key, help=spec.help,
                          max_chars=spec.max_length)
    return value.strip() or None


def render(specs: list[FieldSpec], key: str, options: dict[str, list[str]] | None = None,
           columns: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw one widget per field (call inside st.form); return their values and, per field,
    an empty slot under it for the API's error message."""
    options = options or {}
    values: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    grid = st.columns(columns)
    for i, spec in enumerate(specs):
        with grid[i % columns]:
            widget_key = f"{key}-{spec.name}"
            if spec.name in options or spec.kind == "choice":
                values[spec.name] = _choice(spec, widget_key, options.get(spec.name))
            elif spec.kind == "text":
                values[spec.name] = _text(spec, widget_key)
            else:
                values[spec.name] = _number(spec, widget_key)
            slots[spec.name] = st.empty()
    return values, slots


def body(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON request: empty fields are left out (the API names a missing required one)."""
    return {name: value for name, value in values.items() if value is not None}


def show_field_errors(fields: dict[str, str], slots: dict[str, Any]) -> list[str]:
    """Put each error under its field; return those that belong to no field."""
    unplaced = []
    for name, message in fields.items():
        if name in slots:
            slots[name].error(message, icon=":material/error:")
        else:
            unplaced.append(f"{name}: {message}" if name != "body" else message)
    return unplaced
