"""Glue for orchestrators (Airflow); the logic lives in homeprice.steps and monitoring."""
