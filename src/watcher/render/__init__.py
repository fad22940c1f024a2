"""Rendering changes for people: plain text here; HTML through the jinja2 templates."""
