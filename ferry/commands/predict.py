"""`ferry predict`: a small client for the typed endpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ferry.errors import Code, CommandError, existing

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
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for the service.")
    ] = 30.0,
) -> None:
    """Send rows to a running service and print its JSON answer."""
    import httpx

    payload_rows = read_rows(existing(rows, "rows file"))
    with httpx.Client(base_url=url, timeout=timeout) as client:
        name = input_name or _first_input(client, model)
        payload = {"model": model, "inputs": {name: payload_rows}}
        response = client.post("/predict", json=payload)
    answer = _json(response)
    print(json.dumps(answer, indent=2))
    if response.status_code >= 400:
        error = answer.get("error", response.text) if isinstance(answer, dict) else answer
        raise CommandError(
            f"{url}/predict answered {response.status_code}: {error}",
            Code.UNKNOWN_MODEL if response.status_code == 404 else Code.REFUSED,
        )


def read_rows(path: Path) -> list[list[float]]:
    """Rows from a JSON list (of rows, or one row) or a CSV file (header optional)."""
    text = path.read_text()
    if path.suffix.lower() == ".json":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as err:
            raise CommandError(f"rows file {path}: not JSON ({err})", Code.USAGE) from err
        return data if isinstance(data, list) and data and isinstance(data[0], list) else [data]
    lines = [r for r in csv.reader(text.splitlines()) if r]
    if lines and not _numeric(lines[0]):
        lines = lines[1:]
    try:
        return [[float(v) for v in r] for r in lines]
    except ValueError as err:
        raise CommandError(f"rows file {path}: not numeric CSV ({err})", Code.USAGE) from err


def _numeric(row: list[str]) -> bool:
    try:
        [float(v) for v in row]
    except ValueError:
        return False
    return True


def _first_input(client: Any, model: str) -> str:
    meta = client.get(f"/v2/models/{model}")
    if meta.status_code != 200:
        error = _json(meta)
        shown = error.get("error", meta.text) if isinstance(error, dict) else meta.text
        code = Code.UNKNOWN_MODEL if meta.status_code == 404 else Code.REFUSED
        raise CommandError(f"model {model!r} at {client.base_url}: {shown}", code)
    return str(meta.json()["inputs"][0]["name"])


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": response.text[:500]}
