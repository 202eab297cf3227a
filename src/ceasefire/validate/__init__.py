"""Validation: both engines, reviewed corrections and the publishing rules for cell content."""
