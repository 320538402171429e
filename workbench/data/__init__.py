"""Model Workbench data package (filled by later issues)."""
