"""A lesson as a Jupyter notebook (nbformat 4 JSON, written by hand: no dependency): its text, the settings it was
opened with, the code of its code panels (which print the numbers the page showed) and its first figure.

    data = build("Broadcasting", "Align shapes from the right ...", {"bc_a": "4,32,14,14"}, [code], fig_json)
"""

from __future__ import annotations

import json


def _cell(kind: str, source: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source.strip("\n").splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def build(title: str, intro: str, settings: dict[str, str], codes: list[str], figure_json: str | None,
          link: str = "") -> bytes:
    """The notebook's bytes (UTF-8 JSON)."""
    head = f"# {title}\n\n{intro}\n\nFrom PyTorch Lab" + (f" ({link})" if link else "") + "."
    if settings:
        head += " Settings of this notebook: " + ", ".join(f"`{k}={v}`" for k, v in settings.items()) + "."
    cells = [_cell("markdown", head)]
    for i, code in enumerate(codes, start=1):
        if len(codes) > 1:
            cells.append(_cell("markdown", f"## Code {i}"))
        cells.append(_cell("code", code))
    if figure_json:
        cells.append(_cell("markdown", "## The lesson's first figure, as the page drew it (plotly)"))
        cells.append(_cell("code", "import plotly.io as pio\n\n"
                                   f"fig = pio.from_json({json.dumps(figure_json)})\nfig.show()"))
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}}
    for k, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{k}"
    return json.dumps(nb, indent=1).encode()


def file_name(url: str) -> str:
    return f"pytorch-lab-{url or 'home'}.ipynb"
