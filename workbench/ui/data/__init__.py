"""Datasets in the window, by what each part owns.

- :mod:`.controller`: :class:`~.controller.DataController`, which connects the Data tab and
  the import dialog to the window: it imports into the project, fits the model to the data,
  rescans a project's dataset when it opens and builds the sample projects.
- :mod:`.tab`: :class:`~.tab.DataTab`, the Data page (empty, scanning, error or the dataset).
- :mod:`.import_dialog`: :class:`~.import_dialog.DatasetImportDialog`, which scans, previews
  and checks a dataset, and says whether it fits the model.
- :mod:`.import_options`: the dialog's choices (target column, split, preprocessing).
- :mod:`.previews`: the preview widgets both show (thumbnails per class, the paged table,
  the check's findings).
- :mod:`.chart`: the Data tab's class-count or target-distribution chart.
- :mod:`.scan`: one background scan at a time for the dialog and the controller.

What they say and decide without Qt is :mod:`workbench.data.describe`'s.
"""
