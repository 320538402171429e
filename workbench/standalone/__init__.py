"""The standalone training code that a Python export copies beside ``model.py``.

Every module here is real, linted and type-checked Python that imports nothing of the
workbench (only the standard library, numpy, Pillow and torch), so that an exported folder
runs on its own: ``train.py`` and the ``train_*.py`` readers are copied out as they are, and
everything that varies (the dataset, its split and preprocessing, the hyperparameters) is read
from the ``config.json`` written beside them. The package sits at the bottom of the layers
(below ``workbench.core``): anything may import it, it imports no other part of the workbench.
Between themselves the modules import relatively inside the package and by plain name in an
exported folder (``if __package__:``).
"""
