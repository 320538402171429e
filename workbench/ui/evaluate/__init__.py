"""The Evaluate tab: a run's results on a split, its figures and the samples behind them."""
