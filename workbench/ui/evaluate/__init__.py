"""The Evaluate tab: how good a run is, and trying it on your own inputs."""
