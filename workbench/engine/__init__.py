"""Everything that needs torch: the graph compiler and (later) training and evaluation."""
