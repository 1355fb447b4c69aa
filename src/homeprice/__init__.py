"""homeprice: the whole life of a house-price model, from raw listings to served prices."""

import os

# OpenMP threads (LightGBM, scikit-learn) that wait at a barrier spin by default. On a shared
# or busy machine a spinning thread keeps the core its descheduled peer needs: measured here
# under load, one LightGBM fit took 28 s spinning against 3.2 s passive (2.0 s on one
# thread), idle cost nil. Set before any OpenMP runtime loads (this package is imported first
# by the CLI, the server and the DAGs); an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
