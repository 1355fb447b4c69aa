"""Why /readyz says "not ready": the reason it gives for each dataset without a champion.

A module of its own, without imports, because `homeprice up` reads these answers too and must
not load the serving stack (MLflow, pandas) to do so.
"""

from __future__ import annotations

# Nothing to wait for: the dataset stays unready until a champion is trained and promoted.
NO_CHAMPION = "no champion in the registry"
# The rest clear up by themselves (a reload poll retries) or need an operator's look.
FAILED = "its champion failed to load or its smoke test (see /v1/models)"
LOOKUP_FAILED = "the registry lookup failed (retried every reload interval)"
LOADING = "loading"
