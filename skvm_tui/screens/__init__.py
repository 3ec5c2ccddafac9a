"""Workbench modal screens."""
