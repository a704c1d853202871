"""Hygeia."""
