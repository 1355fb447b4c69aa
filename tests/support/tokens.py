"""The feedback token the test homes' servers run with, and the header that sends it."""

from __future__ import annotations

# Set as HOMEPRICE_FEEDBACK_TOKEN by the served_home fixture (servers and apps inherit it).
FEEDBACK_TOKEN = "test-feedback-token-0123"
# Headers of an authenticated feedback post.
FEEDBACK_AUTH = {"Authorization": f"Bearer {FEEDBACK_TOKEN}"}
