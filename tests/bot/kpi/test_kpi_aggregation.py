"""Line/plant aggregation (sums first, ratios after) and on-time delivery."""

import numpy as np
import pandas as pd
import pytest

from bot.kpi import compute_kpis

TZ = "Asia/Shanghai"
START, END = pd.Timestamp("2024-03-05 00:00", tz=TZ), pd.Timestamp("2024-03-06 00:00", tz=TZ)
MACHINES = pd.DataFrame({"machine": ["m1", "m2", "m3"], "line": ["L1", "L1", "L2"],
                         "ideal_cycle_time_s": [1.0, 2.0, 1.0]})


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def test_line_figures_are_ratios_of_sums_not_means_of_ratios() -> None:
    rows = [("m1", "running", "08:00", "08:50"), ("m1", "down", "08:50", "09:00"),
            ("m2", "planned_stop", "08:00", "08:30"), ("m2", "running", "08:30", "08:50"),
            ("m2", "down", "08:50", "09:00"), ("m3", "running", "08:00", "09:00")]
    plan = pd.DataFrame([(m, s, at(f"2024-03-05 {a}"), at(f"2024-03-05 {b}")) for m, s, a, b in rows],
                        columns=["machine", "state", "start", "end"])
    made = pd.DataFrame({"reported_at": [at("2024-03-05 08:30")] * 3, "machine": ["m1", "m2", "m3"],
                         "good": [2300, 300, 3600], "scrap": [100, 0, 0]})
    window = dict(start=at("2024-03-05 08:00"), end=at("2024-03-05 09:00"))
    machines = compute_kpis(plan, made, MACHINES, **window).set_index("machine")
    lines = compute_kpis(plan, made, MACHINES, by="line", **window).set_index("line")
    assert machines.loc["m1", "availability"] == pytest.approx(3000 / 3600)
    assert machines.loc["m2", "availability"] == pytest.approx(1200 / 1800)
    line = lines.loc["L1"]
    assert (line["run_s"], line["planned_s"], line["down_s"], line["down_events"]) == (4200, 5400, 1200, 2)
    assert line["availability"] == pytest.approx(4200 / 5400)  # not (5/6 + 2/3) / 2 = 0.75
    assert line["performance"] == pytest.approx((2400 * 1.0 + 300 * 2.0) / 4200)  # not (0.8 + 0.5) / 2
    assert line["quality"] == pytest.approx(2600 / 2700)
    assert line["oee"] == pytest.approx(4200 / 5400 * 3000 / 4200 * 2600 / 2700)
    assert line["mtbf_s"] == pytest.approx(4200 / 2) and line["mttr_s"] == pytest.approx(600)
    plant = compute_kpis(plan, made, MACHINES, by="plant", **window).iloc[0]
    assert plant["plant"] == "all"
    assert plant["availability"] == pytest.approx(7800 / 9000)
    assert plant["performance"] == pytest.approx(6600 / 7800)


def orders(with_quantity: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame([
        ("A", 100, "2024-03-05 12:00", "2024-03-05 10:00", 100),  # on time
        ("B", 100, "2024-03-05 12:00", "2024-03-05 14:00", 100),  # late
        ("C", 100, "2024-03-05 16:00", "2024-03-05 15:00", 80),  # incomplete
        ("D", 50, "2024-03-05 18:00", None, None),  # still open
        ("E", 100, "2024-03-06 09:00", "2024-03-05 09:00", 100),  # early but due the next day
        ("F", 30, "2024-03-05 20:00", "2024-03-03 09:00", 30),  # two days early: on time
        ("G", 100, "2024-03-05 23:59", "2024-03-05 23:59", 120),  # over-delivered, at the due minute
    ], columns=["work_order", "quantity", "due", "completed_at", "completed_quantity"])
    frame["due"] = frame["due"].map(at)
    frame["completed_at"] = frame["completed_at"].map(lambda t: at(t) if t else pd.NaT)
    return frame if with_quantity else frame.drop(columns="completed_quantity")


def test_on_time_delivery_with_late_early_and_incomplete_orders() -> None:
    made = pd.DataFrame({"reported_at": [at("2024-03-05 10:00")], "machine": ["m1"], "good": [240],
                         "scrap": [0]})
    row = compute_kpis(None, made, MACHINES, orders(), by="plant", start=START, end=END).iloc[0]
    assert (row["orders_due"], row["orders_on_time"]) == (6, 3)  # A, F, G of A, B, C, D, F, G
    assert row["otd"] == pytest.approx(0.5)
    assert row["plan_quantity"] == 480
    assert row["output_vs_plan"] == pytest.approx(240 / 480)
    without = compute_kpis(None, made, MACHINES, orders(False), by="plant", start=START, end=END).iloc[0]
    assert (without["orders_due"], without["orders_on_time"]) == (6, 4)  # C now counts as completed in full


def test_orders_are_attributed_through_reports_and_counted_once_per_group() -> None:
    made = pd.DataFrame({"reported_at": [at("2024-03-04 10:00")] * 4, "machine": ["m1", "m2", "m2", "m3"],
                         "work_order": ["A", "A", "B", "C"], "good": [1, 1, 1, 1], "scrap": [0, 0, 0, 0]})
    by_machine = compute_kpis(None, made, MACHINES, orders(), start=START, end=END).set_index("machine")
    assert by_machine["orders_due"].to_dict() == {"m1": 1, "m2": 2, "m3": 1}
    assert by_machine["orders_on_time"].to_dict() == {"m1": 1, "m2": 1, "m3": 0}
    assert by_machine["good"].tolist() == [0, 0, 0]  # reports before the window count for nothing else
    by_line = compute_kpis(None, made, MACHINES, orders(), by="line", start=START, end=END).set_index("line")
    assert by_line["orders_due"].to_dict() == {"L1": 2, "L2": 1}  # A made on m1 and m2 counts once for L1
    assert by_line.loc["L1", "otd"] == pytest.approx(0.5)
    explicit = orders().assign(line=["L2", None, None, "L2", None, None, None])
    by_line = compute_kpis(None, made, MACHINES, explicit, by="line", start=START, end=END).set_index("line")
    assert by_line["orders_due"].to_dict() == {"L1": 1, "L2": 3}  # A, D by line column; B, C by reports
    assert np.isnan(compute_kpis(None, None, MACHINES, start=START, end=END)["otd"]).all()
