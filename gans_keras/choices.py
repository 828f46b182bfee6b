"""The one error for a setting outside its fixed set of values; imports nothing, so every module can use it."""

from __future__ import annotations

from collections.abc import Collection


def check_choice(name: str, value, choices: Collection) -> None:
    """Raises a ValueError naming the setting and its choices unless `value` is one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
