"""Glue for orchestrators (Airflow); the logic is in the declared steps and monitoring."""
