"""Model Workbench: build, train, evaluate and export neural networks by pointing and clicking."""

__version__ = "0.1.0"
