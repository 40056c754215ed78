"""Validate the KPI engine's input frames once and turn them into numpy arrays (UTC nanoseconds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

STATES: tuple[str, ...] = ("running", "idle", "down", "planned_stop", "setup", "unknown")
OUTPUTS: tuple[str, ...] = ("reports", "counters", "both")  # where a machine's good/scrap come from
RUNNING, IDLE, DOWN, PLANNED_STOP, SETUP, UNKNOWN = range(6)
NAT = np.iinfo(np.int64).min


class KpiInputError(ValueError):
    """Raised for an unusable input frame or parameter; the message says what to fix."""


@dataclass(frozen=True)
class Machines:
    """The machine master data the engine groups by."""

    names: np.ndarray
    lines: np.ndarray
    ideal_s: np.ndarray
    counted: np.ndarray  # bool: output counted by the machine (counters or both), not taken from reports


@dataclass(frozen=True)
class States:
    """State intervals sorted by (machine, start), checked for overlaps."""

    machine: np.ndarray
    state: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass(frozen=True)
class StateTime:
    """Time in a state already summed inside the window (by the database, see bot/kpi/summed.py): valid only for
    a call whose one period is the whole window, and never for `down`, whose events the engine must count."""

    machine: np.ndarray
    state: np.ndarray
    seconds: np.ndarray


@dataclass(frozen=True)
class Reports:
    """Production reports; first_pass is NaN where no rework data exists."""

    machine: np.ndarray
    at: np.ndarray
    good: np.ndarray
    scrap: np.ndarray
    first_pass: np.ndarray
    work_order: np.ndarray


@dataclass(frozen=True)
class Counts:
    """Counter deltas; `at` is the midpoint of each delta, which decides the period its parts count in."""

    machine: np.ndarray
    at: np.ndarray
    good: np.ndarray
    scrap: np.ndarray


@dataclass(frozen=True)
class Orders:
    """Work orders; completed is NAT when open, machine -1 and line None when not given."""

    names: np.ndarray
    quantity: np.ndarray
    due: np.ndarray
    completed: np.ndarray
    completed_quantity: np.ndarray
    machine: np.ndarray
    line: np.ndarray


@dataclass(frozen=True)
class Alerts:
    """Breakdown alerts; acknowledged/fixed are NAT when missing."""

    machine: np.ndarray
    down_start: np.ndarray
    acknowledged: np.ndarray
    fixed: np.ndarray


@dataclass(frozen=True)
class Inputs:
    """Everything the engine and the reference implementation read."""

    machines: Machines
    states: States
    reports: Reports
    orders: Orders
    alerts: Alerts | None
    counts: Counts | None = None
    state_time: StateTime | None = None


def instant_ns(value: datetime | pd.Timestamp, name: str) -> int:
    """A window edge as UTC nanoseconds; naive datetimes are refused because their zone is a guess."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise KpiInputError(f"{name} must be a timezone-aware datetime, got {value!r}") from exc
    if stamp is pd.NaT or stamp.tzinfo is None:
        raise KpiInputError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def _rows(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if frame is None or len(frame) == 0 else frame


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KpiInputError(f"{name} is missing column(s) {', '.join(missing)} (needs {', '.join(columns)})")


def _utc_ns(values: pd.Series, where: str, allow_nat: bool = False) -> np.ndarray:
    """UTC nanoseconds of a timestamp column, NAT for missing values."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
    elif values.isna().all():
        converted = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        raise KpiInputError(f"{where} must be timezone-aware (UTC); it holds naive timestamps")
    else:
        sample = values.dropna().iloc[0]
        if not isinstance(sample, datetime) or sample.tzinfo is None:
            raise KpiInputError(f"{where} must hold timezone-aware datetimes, found {sample!r}")
        try:
            converted = pd.to_datetime(values, utc=True)
        except (TypeError, ValueError) as exc:
            raise KpiInputError(f"{where} could not be read as timestamps: {exc}") from exc
    ns = converted.dt.tz_localize(None).dt.as_unit("ns").to_numpy().view(np.int64)
    if not allow_nat and (ns == NAT).any():
        raise KpiInputError(f"{where} has missing timestamps")
    return ns


def _quantities(values: pd.Series, where: str, allow_nan: bool = False, integral: bool = True) -> np.ndarray:
    """A non-negative numeric column as float64 (NaN only where allowed)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    invalid = np.isnan(numbers) & values.notna().to_numpy()
    if invalid.any():
        raise KpiInputError(f"{where} has non-numeric values, e.g. {values[invalid].iloc[0]!r}")
    if not allow_nan and np.isnan(numbers).any():
        raise KpiInputError(f"{where} has missing values")
    present = numbers[~np.isnan(numbers)]
    if (present < 0).any() or not np.isfinite(present).all():
        raise KpiInputError(f"{where} must be finite and >= 0")
    if integral and (present != np.round(present)).any():
        raise KpiInputError(f"{where} must hold whole numbers")
    return numbers


def _index_of(values: pd.Series, categories: np.ndarray | tuple[str, ...]) -> np.ndarray:
    """Position of each value in the (unique) categories, -1 where absent; ids typed as numbers match too."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        values = values.astype(str).where(values.notna())
    return pd.Index(categories).get_indexer_for(values).astype(np.int64)


def _codes(values: pd.Series, categories: np.ndarray | tuple[str, ...], where: str, known: str) -> np.ndarray:
    """Integer codes of values in categories; an unknown value is an error naming a few of them."""
    codes = _index_of(values, categories)
    unknown = codes < 0
    if unknown.any():
        sample = ", ".join(repr(v) for v in pd.unique(values.to_numpy()[unknown])[:5])
        raise KpiInputError(f"{where} has values that are not {known}: {sample}")
    return codes


def _machines(frame: pd.DataFrame | None) -> Machines:
    if _rows(frame) is None:
        nothing = np.array([], dtype=object)
        return Machines(nothing, nothing, np.array([], dtype=np.float64), np.array([], dtype=bool))
    _require(frame, "machines", ("machine", "line", "ideal_cycle_time_s"))
    names = frame["machine"].astype(str).to_numpy(dtype=object)
    duplicated = pd.Series(names).duplicated()
    if duplicated.any():
        raise KpiInputError(f"machines lists machine {names[duplicated.to_numpy()][0]!r} more than once")
    if frame["line"].isna().any():
        raise KpiInputError("machines.line has missing values")
    ideal = _quantities(frame["ideal_cycle_time_s"], "machines.ideal_cycle_time_s", integral=False)
    if (ideal <= 0).any():
        raise KpiInputError("machines.ideal_cycle_time_s must be > 0")
    counted = np.zeros(len(names), dtype=bool)
    if "output" in frame.columns:
        output = frame["output"].where(frame["output"].notna(), "reports")
        counted = _codes(output, OUTPUTS, "machines.output", f"one of {', '.join(OUTPUTS)}") > 0
    return Machines(names, frame["line"].astype(str).to_numpy(dtype=object), ideal, counted)


def _states(frame: pd.DataFrame | None, machines: Machines) -> States:
    empty = np.array([], dtype=np.int64)
    if _rows(frame) is None:
        return States(empty, empty, empty, empty)
    _require(frame, "states", ("machine", "state", "start", "end"))
    machine = _codes(frame["machine"], machines.names, "states.machine", "in machines")
    state = _codes(frame["state"], STATES, "states.state", f"one of {', '.join(STATES)}")
    start = _utc_ns(frame["start"], "states.start")
    end = _utc_ns(frame["end"], "states.end")
    if (end < start).any():
        raise KpiInputError(f"states has {(end < start).sum()} interval(s) ending before they start")
    same = machine[1:] == machine[:-1]
    # by (machine, start, end): an empty interval sorts before the one starting at its instant, which the database
    # may return first, and which it would otherwise seem to overlap
    tie = same & (start[1:] == start[:-1])
    if ((machine[1:] < machine[:-1]) | (same & (start[1:] < start[:-1])) | (tie & (end[1:] < end[:-1]))).any():
        order = np.lexsort((end, start, machine))
        machine, state, start, end = machine[order], state[order], start[order], end[order]
        same = machine[1:] == machine[:-1]
    clash = np.flatnonzero(same & (start[1:] < end[:-1]))
    if clash.size:
        i = clash[0]
        raise KpiInputError(
            f"states overlap on machine {machines.names[machine[i]]!r}: an interval starts at "
            f"{pd.Timestamp(start[i + 1], tz='UTC')} before the previous one ends at "
            f"{pd.Timestamp(end[i], tz='UTC')}"
        )
    return States(machine, state, start, end)


def _orders(frame: pd.DataFrame | None, machines: Machines) -> Orders:
    if _rows(frame) is None:
        none = np.array([], dtype=np.int64)
        return Orders(np.array([], dtype=object), np.array([]), none, none, np.array([]), none,
                      np.array([], dtype=object))
    _require(frame, "work_orders", ("work_order", "quantity", "due", "completed_at"))
    names = frame["work_order"].astype(str).to_numpy(dtype=object)
    if pd.Series(names).duplicated().any():
        raise KpiInputError("work_orders.work_order must be unique")
    count = len(frame)
    done = (frame["completed_quantity"] if "completed_quantity" in frame.columns
            else pd.Series(np.nan, index=frame.index))
    machine = np.full(count, -1, dtype=np.int64)
    if "machine" in frame.columns and frame["machine"].notna().any():
        given = frame["machine"].notna().to_numpy()
        machine[given] = _codes(frame["machine"][given], machines.names, "work_orders.machine", "in machines")
    line = np.full(count, None, dtype=object)
    if "line" in frame.columns:
        given = frame["line"].notna().to_numpy()
        line[given] = frame["line"][given].astype(str).to_numpy(dtype=object)
        strangers = set(line[given]) - set(machines.lines)
        if strangers:
            raise KpiInputError(f"work_orders.line names lines without machines: {sorted(strangers)[:5]}")
    return Orders(
        names,
        _quantities(frame["quantity"], "work_orders.quantity", integral=False),
        _utc_ns(frame["due"], "work_orders.due"),
        _utc_ns(frame["completed_at"], "work_orders.completed_at", allow_nat=True),
        _quantities(done, "work_orders.completed_quantity", allow_nan=True, integral=False),
        machine,
        line,
    )


def _reports(frame: pd.DataFrame | None, machines: Machines, orders: Orders) -> Reports:
    if _rows(frame) is None:
        none = np.array([], dtype=np.int64)
        return Reports(none, none, np.array([]), np.array([]), np.array([]), none)
    _require(frame, "reports", ("reported_at", "machine", "good", "scrap"))
    good = _quantities(frame["good"], "reports.good")
    first_pass = np.full(len(frame), np.nan)
    if "first_pass_good" in frame.columns:
        first_pass = _quantities(frame["first_pass_good"], "reports.first_pass_good", allow_nan=True)
        if (first_pass > good).any():
            raise KpiInputError("reports.first_pass_good cannot exceed reports.good")
    work_order = np.full(len(frame), -1, dtype=np.int64)
    if "work_order" in frame.columns:
        work_order = _index_of(frame["work_order"], orders.names)
    return Reports(
        _codes(frame["machine"], machines.names, "reports.machine", "in machines"),
        _utc_ns(frame["reported_at"], "reports.reported_at"),
        good,
        _quantities(frame["scrap"], "reports.scrap"),
        first_pass,
        work_order,
    )


def _alerts(frame: pd.DataFrame | None, machines: Machines) -> Alerts | None:
    if frame is None:
        return None
    if len(frame) == 0:
        none = np.array([], dtype=np.int64)
        return Alerts(none, none, none, none)
    _require(frame, "alerts", ("machine", "down_start", "acknowledged_at", "fixed_at"))
    down_start = _utc_ns(frame["down_start"], "alerts.down_start")
    acknowledged = _utc_ns(frame["acknowledged_at"], "alerts.acknowledged_at", allow_nat=True)
    fixed = _utc_ns(frame["fixed_at"], "alerts.fixed_at", allow_nat=True)
    for name, stamps in (("acknowledged_at", acknowledged), ("fixed_at", fixed)):
        if ((stamps != NAT) & (stamps < down_start)).any():
            raise KpiInputError(f"alerts.{name} lies before alerts.down_start")
    machine = _codes(frame["machine"], machines.names, "alerts.machine", "in machines")
    return Alerts(machine, down_start, acknowledged, fixed)


def _counts(frame: pd.DataFrame | None, machines: Machines) -> Counts | None:
    """Only the parts of machines whose output is counted are kept: the others take their reports."""
    if _rows(frame) is None or not machines.counted.any():
        return None
    _require(frame, "counts", ("machine", "start", "end", "good", "scrap"))
    machine = _codes(frame["machine"], machines.names, "counts.machine", "in machines")
    start, end = _utc_ns(frame["start"], "counts.start"), _utc_ns(frame["end"], "counts.end")
    if (end < start).any():
        raise KpiInputError(f"counts has {(end < start).sum()} delta(s) ending before they start")
    good, scrap = _quantities(frame["good"], "counts.good"), _quantities(frame["scrap"], "counts.scrap")
    keep = machines.counted[machine]
    return Counts(machine[keep], (start + (end - start) // 2)[keep], good[keep], scrap[keep])


def _state_time(frame: pd.DataFrame | None, machines: Machines) -> StateTime | None:
    if _rows(frame) is None:
        return None
    _require(frame, "state_time", ("machine", "state", "seconds"))
    state = _codes(frame["state"], STATES, "state_time.state", f"one of {', '.join(STATES)}")
    if (state == DOWN).any():
        raise KpiInputError("state_time cannot hold down time: down intervals are events, give them as states")
    return StateTime(_codes(frame["machine"], machines.names, "state_time.machine", "in machines"), state,
                     _quantities(frame["seconds"], "state_time.seconds", integral=False))


def prepare(
    states: pd.DataFrame | None,
    reports: pd.DataFrame | None,
    machines: pd.DataFrame | None,
    work_orders: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    counts: pd.DataFrame | None = None,
    state_time: pd.DataFrame | None = None,
) -> Inputs:
    """Validate all frames; a frame with no rows (or None) is simply empty."""
    table = _machines(machines)
    orders = _orders(work_orders, table)
    return Inputs(table, _states(states, table), _reports(reports, table, orders), orders,
                  _alerts(alerts, table), _counts(counts, table), _state_time(state_time, table))
