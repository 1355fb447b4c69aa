"""`python -m homeprice.cli`: the `homeprice` script, as tests and server processes run it."""

from __future__ import annotations

from homeprice.cli import main

# Only when run: a process that imports this module (e.g. a spawned worker re-importing its
# parent's main module) must not run the command line again.
if __name__ == "__main__":
    main()
