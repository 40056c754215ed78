"""Equipment and delivery KPIs (ISO 22400 style), computed with pandas/numpy from plain DataFrames.

Pure computation: no database, no HTTP. All timestamps must be timezone-aware; they are converted to UTC
and every computation happens in UTC nanoseconds. Day/week/month edges are midnights in the plant zone
(weeks start on Monday); shifts are wall-clock times in the plant zone and may cross midnight (a shift
belongs to the date it starts on; a DST gap moves a time forward, a repeated hour takes its first pass).

Inputs (a frame that is None or has no rows counts as empty; extra columns are ignored):
- states: machine (str, in machines), state (running | idle | down | planned_stop | setup | unknown),
  start, end (tz-aware; end >= start), reason (optional, unused). Intervals of one machine may not overlap.
- reports: reported_at (tz-aware), machine, good (int >= 0), scrap (int >= 0), work_order (optional),
  first_pass_good (optional int <= good; NaN on a row means "no rework data" for that row).
- machines: machine (unique), line, ideal_cycle_time_s (float > 0), output (optional: reports | counters | both;
  missing means reports).
- counts (optional): machine, start, end (tz-aware), good, scrap: counter deltas. Only machines whose output is
  counters or both use them; for those, good and scrap come from the counts instead of the reports.
- work_orders (optional): work_order (unique), quantity, due (tz-aware), completed_at (tz-aware or NaT),
  completed_quantity (optional; missing means a completed order was completed in full),
  machine / line (optional: where the order is made; otherwise taken from the reports naming the order).
- alerts (optional): machine, down_start, acknowledged_at, fixed_at (tz-aware, NaT allowed).
A bad frame raises KpiInputError with a message that says what is wrong.

Definitions, per (group, period) after clipping every interval exactly to the window and period edges:
- unknown_s = explicit `unknown` state time plus time not covered by any state interval. It is reported,
  never counted as up or down, and it is excluded from planned time.
- planned_s (PBT) = period length - planned_stop_s - unknown_s = run_s + down_s + idle_s + setup_s.
- Micro-stops: a down event (contiguous down intervals of one machine, taken whole, not clipped) shorter
  than micro_stop_threshold_s is a speed loss: its time is in run_s (and in micro_stop_s), it is not in
  down_s and not a down event. Threshold 0 turns this off.
- availability = run_s / planned_s; performance = ideal_run_s / run_s with ideal_run_s = ideal cycle time x
  total, not clipped, performance_flag when > 1; quality = good / total (total = good + scrap);
  oee = availability x performance x quality.
- A down event is counted once, in the first period (within the window) it overlaps.
  mtbf_s = run_s / down_events; mttr_s = down_s / down_events; from alerts by the period of down_start:
  mttr_response_s = mean(acknowledged_at - down_start), mttr_repair_s = mean(fixed_at - down_start).
- first_pass_yield = first_pass_good / total, where rows without first-pass data count good as first-pass
  good and set first_pass_yield_estimated.
- Orders due in the period (due in [period_start, period_end)): otd = orders_on_time / orders_due, where
  on time means completed_at <= due and completed quantity >= quantity; plan_quantity = their summed
  quantity; output_vs_plan = good / plan_quantity.
- Counted machines: a counter delta counts in the period holding its midpoint; first_pass_good is the counted
  good (counters know no rework, so the yield is estimated); a counted machine without deltas has no output.
- Reports count in the period holding reported_at. Lines and the plant sum times and counts first and
  take ratios afterwards. A zero denominator gives NaN, never an error.
"""

from bot.kpi.engine import BY, DEFAULT_TZ, compute_kpis
from bot.kpi.figures import FIGURES, output_columns, to_json_records
from bot.kpi.inputs import STATES, KpiInputError
from bot.kpi.periods import DEFAULT_SHIFTS, EVERY

__all__ = [
    "BY",
    "DEFAULT_SHIFTS",
    "DEFAULT_TZ",
    "EVERY",
    "FIGURES",
    "STATES",
    "KpiInputError",
    "compute_kpis",
    "output_columns",
    "to_json_records",
]
