"""Training: candidates and search spaces, tuning, fitting, evaluation, intervals."""
