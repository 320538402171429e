"""The Qt-free, torch-free description of a project: catalog, graph, shapes, project file."""
