"""Using an exported model without torch: its metadata, prediction, and a local HTTP service.

Nothing under this package imports torch (``tests/deploy`` checks it): an ``.onnx`` file
written by the workbench is used with onnxruntime, numpy and Pillow alone.
"""
