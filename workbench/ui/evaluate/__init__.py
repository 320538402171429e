"""The Evaluate tab: how good a run is on a split, the samples behind its figures, and
trying it on your own inputs."""
