"""Rendering comparison reports and histories: HTML with inline SVG plots, and markdown.

Needs the `report` extra (matplotlib, ruptures); the operator never imports this package
(an import-linter contract), so the operator image carries neither.
"""
