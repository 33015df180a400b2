"""`ferry predict`: a small client for the typed endpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_URL = "http://127.0.0.1:3000"


def predict(
    model: Annotated[str, typer.Argument(help="Model name.")],
    rows: Annotated[
        Path, typer.Argument(help="JSON list of rows, or CSV (header of input names optional).")
    ],
    url: Annotated[str, typer.Option(envvar="FERRY_URL", help="Service address.")] = DEFAULT_URL,
    input_name: Annotated[
        str | None, typer.Option("--input", help="Model input (default: the first).")
    ] = None,
) -> None:
    """Send rows to a running service and print its JSON answer."""
    import httpx

    with httpx.Client(base_url=url, timeout=30) as client:
        name = input_name or _first_input(client, model)
        payload = {"model": model, "inputs": {name: read_rows(rows)}}
        response = client.post("/predict", json=payload)
    print(json.dumps(response.json(), indent=2))
    if response.status_code >= 400:
        raise typer.Exit(1)


def read_rows(path: Path) -> list[list[float]]:
    text = path.read_text()
    if path.suffix.lower() == ".json":
        data: Any = json.loads(text)
        return data if isinstance(data, list) and data and isinstance(data[0], list) else [data]
    lines = [r for r in csv.reader(text.splitlines()) if r]
    if lines and not _numeric(lines[0]):
        lines = lines[1:]
    return [[float(v) for v in r] for r in lines]


def _numeric(row: list[str]) -> bool:
    try:
        [float(v) for v in row]
    except ValueError:
        return False
    return True


def _first_input(client: Any, model: str) -> str:
    meta = client.get(f"/v2/models/{model}")
    if meta.status_code != 200:
        raise typer.BadParameter(f"model {model!r}: {meta.text}")
    return str(meta.json()["inputs"][0]["name"])
