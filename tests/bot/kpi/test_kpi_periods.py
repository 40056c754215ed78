"""Splitting at window, shift (across midnight) and plant-local day/week/month edges."""

import pandas as pd
import pytest

from bot.kpi import KpiInputError, compute_kpis

TZ = "Asia/Shanghai"
MACHINES = pd.DataFrame({"machine": ["m1"], "line": ["L1"], "ideal_cycle_time_s": [1.0]})


def at(text: str, tz: str = TZ) -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


def states(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([("m1", state, at(a), at(b)) for state, a, b in rows],
                        columns=["machine", "state", "start", "end"])


def test_night_shift_over_midnight_is_split_exactly() -> None:
    plan = states(("running", "2024-03-04 07:00", "2024-03-04 09:00"),  # 1 h before the window is cut off
                  ("running", "2024-03-04 18:00", "2024-03-05 02:00"),  # crosses 20:00 and midnight
                  ("down", "2024-03-05 02:00", "2024-03-05 03:00"))
    moments = [at("2024-03-04 19:59:59"), at("2024-03-04 20:00"), at("2024-03-05 07:59")]
    made = pd.DataFrame({"reported_at": moments,
                         "machine": ["m1"] * 3, "good": [1, 10, 100], "scrap": [0, 0, 0]})
    frame = compute_kpis(plan, made, MACHINES, start=at("2024-03-04 08:00"), end=at("2024-03-05 20:00"),
                         every="shift")
    assert frame["shift"].tolist() == ["day", "night", "day"]
    assert frame["period_start"].tolist() == [at("2024-03-04 08:00"), at("2024-03-04 20:00"),
                                              at("2024-03-05 08:00")]
    assert frame["period_end"].iloc[1] == pd.Timestamp("2024-03-05 00:00", tz="UTC")  # 08:00 local
    assert frame["run_s"].tolist() == [3 * 3600, 6 * 3600, 0]
    assert frame["down_s"].tolist() == [0, 3600, 0]
    assert frame["unknown_s"].tolist() == [9 * 3600, 5 * 3600, 12 * 3600]
    assert frame["good"].tolist() == [1, 110, 0]
    by_day = compute_kpis(plan, None, MACHINES, start=at("2024-03-04 08:00"), end=at("2024-03-05 20:00"),
                          every="day")
    assert by_day["period_start"].tolist() == [at("2024-03-04 08:00"), at("2024-03-05 00:00")]
    assert by_day["run_s"].tolist() == [7 * 3600, 2 * 3600]
    assert by_day["down_s"].tolist() == [0, 3600]


def test_time_outside_every_shift_is_in_no_period() -> None:
    plan = states(("running", "2024-03-04 00:00", "2024-03-05 00:00"))
    frame = compute_kpis(plan, None, MACHINES, start=at("2024-03-04 00:00"), end=at("2024-03-05 00:00"),
                         every="shift", shifts=[("early", "06:00", "14:00"), ("late", "14:00", "22:00")])
    assert frame["shift"].tolist() == ["early", "late"]
    assert frame["run_s"].tolist() == [8 * 3600, 8 * 3600]


def test_week_and_month_edges_are_plant_local_midnights() -> None:
    plan = states(("running", "2024-03-31 23:00", "2024-04-01 01:00"))  # crosses the local month edge
    made = pd.DataFrame({"reported_at": [pd.Timestamp("2024-03-31 15:59:59", tz="UTC"),  # 23:59:59 local
                                         pd.Timestamp("2024-03-31 16:00:00", tz="UTC")],  # 00:00 local, April
                         "machine": ["m1", "m1"], "good": [1, 2], "scrap": [0, 0]})
    months = compute_kpis(plan, made, MACHINES, start=at("2024-03-01"), end=at("2024-04-10"), every="month")
    assert months["period_start"].tolist() == [at("2024-03-01"), at("2024-04-01")]
    assert months["period_end"].tolist() == [at("2024-04-01"), at("2024-04-10")]
    assert months["period_end"].iloc[0] == pd.Timestamp("2024-03-31 16:00", tz="UTC")
    assert months["run_s"].tolist() == [3600, 3600]
    assert months["good"].tolist() == [1, 2]
    weeks = compute_kpis(plan, made, MACHINES, start=at("2024-03-01"), end=at("2024-04-10"), every="week")
    assert weeks["period_start"].tolist() == [at(d) for d in ("2024-03-01", "2024-03-04", "2024-03-11",
                                                                "2024-03-18", "2024-03-25", "2024-04-01",
                                                                "2024-04-08")]
    assert all(stamp.weekday() == 0 for stamp in weeks["period_start"].iloc[1:])
    assert weeks["run_s"].tolist() == [0, 0, 0, 0, 3600, 3600, 0]
    assert weeks["good"].tolist() == [0, 0, 0, 0, 1, 2, 0]


def test_days_follow_daylight_saving_in_the_plant_zone() -> None:
    berlin = "Europe/Berlin"
    frame = compute_kpis(None, None, MACHINES, start=at("2024-03-30", berlin), end=at("2024-04-01", berlin),
                         every="day", tz=berlin)
    lengths = (frame["period_end"] - frame["period_start"]).dt.total_seconds().tolist()
    assert lengths == [24 * 3600, 23 * 3600]
    assert frame["unknown_s"].tolist() == lengths


def test_bad_calendars_are_refused() -> None:
    window = dict(start=at("2024-03-04"), end=at("2024-03-05"), every="shift")
    with pytest.raises(KpiInputError, match="overlap"):
        compute_kpis(None, None, MACHINES, shifts=[("a", "06:00", "15:00"), ("b", "14:00", "22:00")],
                     **window)
    with pytest.raises(KpiInputError, match="HH:MM"):
        compute_kpis(None, None, MACHINES, shifts=[("a", "6am", "15:00")], **window)
    with pytest.raises(KpiInputError, match="every"):
        compute_kpis(None, None, MACHINES, start=at("2024-03-04"), end=at("2024-03-05"), every="hour")
    with pytest.raises(KpiInputError, match="end after"):
        compute_kpis(None, None, MACHINES, start=at("2024-03-05"), end=at("2024-03-04"))
