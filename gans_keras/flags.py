"""Command-line flags from dataclass fields, one rule for the training, sample and evaluate CLIs."""

from __future__ import annotations

import argparse
import dataclasses


def flag_name(name: str) -> str:
    """A setting's flag: `sampling_steps` -> `--sampling-steps`."""
    return "--" + name.replace("_", "-")


def flag_options(field: dataclasses.Field, parse=None) -> dict:
    """argparse options reading the field's type from its text: a bool is a --x/--no-x switch;
    `parse` reads the text where the type does not (None from "none", say)."""
    text = str(field.type)
    if text == "bool":
        return {"action": argparse.BooleanOptionalAction}
    return {"type": parse or (int if text.startswith("int") else float if text.startswith("float") else str)}
