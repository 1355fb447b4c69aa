"""The HTTP API as served: the prediction service (`serving/`) plus the read-only insights views
(`api/insights.py`), which need monitoring's live A/B evaluation.

`serving/` and `monitoring/` never import each other (both use `predictionlog/`); this package,
above both, puts them together, and `api/server.py` runs the result under uvicorn.
"""

from __future__ import annotations

from fastapi import FastAPI

from homeprice.api import insights
from homeprice.config import Settings
from homeprice.serving.app import create_app


def create_api(settings: Settings, *, load_models: bool = True) -> FastAPI:
    """The whole API for `settings`: `serving.app.create_app` with the insights routes."""
    app = create_app(settings, load_models=load_models)
    insights.install(app)
    return app


def api_from_environment() -> FastAPI:
    """App factory for `uvicorn --factory` (several worker processes): settings from env."""
    from homeprice.config import load_settings

    return create_api(load_settings())
