"""The Export tab, by what each part owns.

- :mod:`.controller`: :class:`~.controller.ExportController`, which connects the tab to the
  window, lists runs, runs exports and starts and stops the local server off the GUI thread.
- :mod:`.tab`: :class:`~.tab.ExportTab`, the page: what to export, format and file, the
  Export button, and where the parts below sit.
- :mod:`.run_picker`: the run picker and the "train first" card.
- :mod:`.checks`: the builder's live checks for the chosen format.
- :mod:`.result`: the card with the last export's result.
- :mod:`.serve`: the serve start/stop panel.
- :mod:`.style`: colours and layout helpers the parts share.

What the parts say is worded by :mod:`workbench.export.wording`, which has no Qt.
"""
