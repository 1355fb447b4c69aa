"""Live evaluation: anytime-valid A/B statistics, decisions, drift, notifications."""
