"""Serving layer: HTTP app, model store, traffic routing, prediction log and metrics."""
