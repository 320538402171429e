"""The Train tab, by what each part owns.

- :mod:`.controller`: :class:`~.controller.TrainingController`, which runs one training
  job at a time off the GUI thread, drains its events into the tab and records how it
  ended in the project's runs list.
- :mod:`.tab`: :class:`~.tab.TrainTab`, the page: where the parts below sit, and what a
  run's events and end show.
- :mod:`.form`: the training settings form and the device picker.
- :mod:`.controls`: the run's buttons and its progress readout.
- :mod:`.plots`: the live curves of one run (four plots).
- :mod:`.curve_plot`: one titled plot of curves with its legend above it, the block the
  live curves are made of and any other plot of runs can use.
- :mod:`.messages`: the banner, the card over an empty chart and the run's log.

What runs without Qt is in the engine: the job on its thread and its event feed
(:mod:`workbench.engine.job`), the run's figures from those events
(:mod:`workbench.engine.run_progress`), the curves' data and axis rules
(:mod:`workbench.engine.curves`), which settings the form shows
(:mod:`workbench.engine.train_form`) and the tab's wording
(:mod:`workbench.engine.train_wording`).
"""
