"""Prefect flows and the command line. Orchestration only: the logic lives in ``ceasefire``."""
