"""The builder canvas, a small node editor that shows and edits a Document's graph, by
what each part owns.

- :mod:`.editor`: :class:`~.editor.GraphCanvas`, the widget: turns mouse, keyboard, menu,
  drop and clipboard gestures into undoable edits of the document.
- :mod:`.view`: :class:`~.view.CanvasView`, its base: zoom, pan and fit over a grid, and
  the empty canvas's hint.
- :mod:`.scene`: :class:`~.scene.GraphScene`, the items of the document's graph, kept in
  line with it as it changes, and the selection.
- :mod:`.nodes` and :mod:`.edges`: the graphics items of a layer (box and ports) and of a
  connection.
- :mod:`.connect`: dragging a connection out of a port.
- :mod:`.menus`: the right-click menus, with a layer's one-click fix.
- :mod:`.transfer`: copied layers on the clipboard and layers dragged from the palette.

Layers flow top to bottom. Where things go (node boxes, ports, edge paths, zoom limits)
is worked out without Qt in :mod:`workbench.core.layout`, what the canvas says in
:mod:`workbench.core.text`, and what a gesture does to the graph in
:mod:`workbench.core.edits`.
"""

from __future__ import annotations

from workbench.ui.canvas.editor import GraphCanvas

__all__ = ["GraphCanvas"]
