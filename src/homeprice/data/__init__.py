"""Data layer: sources, lake, validation, splitting."""
