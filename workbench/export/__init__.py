"""Model Workbench export package (filled by later issues)."""
