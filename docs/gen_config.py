"""The config reference page (`reference/config.md`), generated from the run config's schema
(codesign/config_schema.py): every key with what it must be (the same words its error uses), its default
and its description, so the page cannot drift from what `codesign flow` accepts.

docs/gen_results.py lists it among the generated pages; docs/hooks.py hands those to mkdocs.
"""
from __future__ import annotations

import json


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _section_rows(model, path: str, nested: list) -> list[str]:
    """Table rows of one section's keys; nested sections are queued in `nested` for their own table."""
    from codesign.config_schema import must, section_of

    rows = []
    for key, field in model.model_fields.items():
        dotted = f"{path}.{key}"
        sub = section_of(field.annotation)
        if sub is not None:
            nested.append((dotted, sub, field))
        default = field.get_default(call_default_factory=True)
        if hasattr(default, "model_dump"):
            default = f"see [`{dotted}`](#{dotted.replace('.', '')})"
        else:
            default = f"`{json.dumps(default)}`"
        rows.append(f"| `{dotted}` | {_cell(must(model, key))} | {default} | {_cell(field.description or '')} |")
    return rows


def _table(model, path: str, nested: list) -> list[str]:
    return ["| key | must be | default | what |", "|---|---|---|---|", *_section_rows(model, path, nested), ""]


EDITORS = """## In your editor

`codesign config --schema` prints the JSON schema of a run config. Save it once and point your YAML editor
at it: keys complete as you type, and a typo'd key or an out-of-range value is underlined before anything runs.

```
codesign config --schema > codesign-config.schema.json
```

With the YAML language server (VS Code's *YAML* extension by Red Hat, Neovim, Helix, JetBrains IDEs), the first
line of a run config names it:

```yaml
# yaml-language-server: $schema=codesign-config.schema.json
name: my_run
model:
  layers:
    - flatten: {}
    - dense: {units: 10, kernel: {bits: 8, integer: 0}, bias: {bits: 8, integer: 3}}
```

or, for every config in a folder, VS Code's `settings.json`:
`"yaml.schemas": {"./codesign-config.schema.json": "configs/*.yaml"}`.

`codesign config --check RUN.yaml` checks a config without running anything and prints it as it would run
(every default filled in); `codesign config --defaults` prints every default.
"""


def config_reference() -> str:
    from codesign.boards import BOARDS
    from codesign.config_schema import RunConfig, must, section_of

    lines = ["# Config reference", "",
             "Generated from the run config's schema, `codesign/config_schema.py`. A run config is YAML; every key "
             "is optional except `model.layers`, an unknown key or a value out of its bounds is an error (one line "
             "naming the key, exit code 2) before anything runs, and `codesign flow --set key=value` overrides any "
             "dotted key. Optional blocks (`null` by default) take `true` for all their defaults, or a mapping of "
             "some of their keys.", "", EDITORS]
    for key, field in RunConfig.model_fields.items():
        lines += [f"## `{key}`", "", field.description or "", ""]
        sub = section_of(field.annotation)
        if sub is None:
            lines += [f"Must be {must(RunConfig, key)}. Default: `{json.dumps(field.get_default())}`", ""]
            continue
        nested = []
        lines += _table(sub, key, nested)
        while nested:  # each nested block gets its own table, after its parent's
            dotted, model, f = nested.pop(0)
            lines += [f"### `{dotted}`", "", " ".join((model.__doc__ or f.description or "").split()), ""]
            lines += _table(model, dotted, nested)
    cols = [c for c in ("part", "LUT", "FF", "DSP", "BRAM36", "URAM") if any(c in b for b in BOARDS.values())]
    lines += ["## Boards", "", "`board:` names one of these (part and capacity as the resource estimate uses them).", "",
              "| board | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    lines += [f"| `{b}` | " + " | ".join("" if caps.get(c) is None else str(caps.get(c)) for c in cols) + " |"
              for b, caps in BOARDS.items()]
    return "\n".join(lines) + "\n"

