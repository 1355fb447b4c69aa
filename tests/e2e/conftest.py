"""End-to-end tests reuse the serving fixtures (a private copy of the trained home)."""

from tests.serving.conftest import client, served_home, serving_settings, webhook  # noqa: F401
