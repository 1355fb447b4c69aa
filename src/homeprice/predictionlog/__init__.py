"""The prediction log: every answered prediction and its feedback, used by serving and monitoring."""
