"""``samizdat config``: the effective settings, and where each one came from."""

import json
from typing import Annotated

import typer

from samizdat.cli.base import app, console, layers_of

SECRETS = frozenset({"web.admin_token", "database.url"})  # shown only as set or not


@app.command("config")
def config_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Say what each key means.")] = False,
    reference: Annotated[
        bool,
        typer.Option("--reference", help="Print every key's reference as Markdown (docs/configuration.md)."),
    ] = False,
) -> None:
    """Print every setting: its value, its unit, and where it came from (default, the settings
    file, an environment variable, a flag). Secrets are shown only as set or not."""
    from samizdat.config import effective, settings_reference

    if reference:
        print(settings_reference(), end="")
        return

    layers = layers_of(ctx)
    rows = []
    for key, value, field in effective(layers.settings):
        unit = (field.json_schema_extra or {}).get("unit", "")
        if key in SECRETS or key.endswith(".admin_token"):
            value = "(set)" if value else "(not set)"
        elif key == "fetch.egress":  # proxies' credentials stay out of sight
            from samizdat.fetch.egress import parse_egresses

            value = [egress.name for egress in parse_egresses(value)] if value else []
        elif isinstance(value, tuple):
            value = list(value)
        rows.append(
            {
                "key": key,
                "value": value if isinstance(value, (int, float, bool, list)) else str(value),
                "unit": unit,
                "from": layers.origin(key),
                "about": field.description or "",
            }
        )
    if as_json:
        for row in rows:
            console.print_json(json.dumps(row, ensure_ascii=False), indent=None)
        return
    from rich.table import Table

    table = Table("key", "value", "unit", "from", *(["meaning"] if explain else []))
    for row in rows:
        shown = (
            json.dumps(row["value"], ensure_ascii=False)
            if not isinstance(row["value"], str)
            else row["value"]
        )
        table.add_row(row["key"], shown, row["unit"], row["from"], *([row["about"]] if explain else []))
    console.print(table)
