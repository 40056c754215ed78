"""Typed loading of TOML sections into dataclasses, collecting every problem instead of stopping at the first."""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")


class SettingsError(Exception):
    """Raised with every problem found, so a bad config is fixed in one go rather than one error per start."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], where, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table")
            return tp()
        return from_mapping(tp, value, where, problems)
    if origin is list:
        (item_tp,) = get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list")
            return []
        return [_convert(v, item_tp, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        _key_tp, val_tp = get_args(tp)
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table")
            return {}
        return {str(k): _convert(v, val_tp, f"{where}.{k}", problems) for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        problems.append(f"{where}: expected true or false, got {value!r}")
        return False
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        problems.append(f"{where}: expected a whole number, got {value!r}")
        return 0
    if tp in (str, float) and not isinstance(value, tp):
        problems.append(f"{where}: expected {_type_name(tp)}, got {value!r}")
        return tp()
    return value


def from_mapping(cls: type[T], data: dict[str, Any], where: str, problems: list[str]) -> T:
    """Build dataclass `cls` from `data`; unknown keys are reported because they are usually typos."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in names:
            problems.append(f"{where}.{key}: unknown setting")
    kwargs = {
        name: _convert(data[name], hints[name], f"{where}.{name}", problems) for name in names if name in data
    }
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        problems.extend(f"{where}.{p}" for p in validate())
    return obj
