"""One router per resource: predictions, models, admin, health."""
