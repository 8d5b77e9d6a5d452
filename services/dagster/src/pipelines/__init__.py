"""The payments platform's Dagster code location: store -> bronze -> dbt -> fraud model -> registry."""

import os

# XGBoost's OpenMP threads spin while they wait for work (libgomp's default). On a machine whose
# cores are busy with other processes the spinning threads take each other's time slices: 200
# boosting rounds on 60,000 rows took 115 s with 2 threads against 2.6 s with waiting threads that
# sleep (load average ~12 on 2 cores; services/dagster/README.md, "Report"). libgomp reads the
# variable once, when XGBoost's library is loaded, so it is set here, before any module of the
# code location imports xgboost; a value from the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
