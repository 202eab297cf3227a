"""Extraction: raw inputs to typed tables (violations from the mission's list, events from the prose)."""
