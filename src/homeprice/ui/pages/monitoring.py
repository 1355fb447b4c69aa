"""Monitoring: request rate, latency and errors over time; live error per variant with
confidence intervals and the A/B decision; drift; interval coverage; a replay of the
challenger on logged, labelled requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from homeprice.formatting import human_number
from homeprice.ui import charts, page_setup, scrape
from homeprice.ui.client import ApiClient

WINDOWS = {"15 minutes": (15, 30), "1 hour": (60, 60), "6 hours": (360, 600),
           "1 day": (1440, 1800)}


def _traffic(client: ApiClient, dataset: str) -> None:
    """Requests per minute and latency percentiles from the prediction log."""
    st.subheader("Traffic")
    window = st.segmented_control("Window", list(WINDOWS), default="1 hour",
                                  key=f"monitoring-window-{dataset}") or "1 hour"
    minutes, bucket = WINDOWS[window]
    found = page_setup.call(client.insight, dataset, "traffic", minutes=minutes,
                        bucket_seconds=bucket)
    frame = pd.DataFrame(found["buckets"])
    if frame.empty or not frame["requests"].sum():
        st.info(f"No {dataset} requests in the last {window}.")
        return
    frame["start"] = pd.to_datetime(frame["start"])
    frame = frame.set_index("start")
    frame["requests per minute"] = frame["requests"] * 60 / bucket
    rate, latency = st.columns(2)
    rate.caption(f"Requests per minute (served, {bucket} s buckets)")
    rate.line_chart(frame[["requests per minute"]])
    latency.caption("Request latency (ms)")
    latency.line_chart(frame[["latency_p50_ms", "latency_p95_ms"]].rename(
        columns={"latency_p50_ms": "p50", "latency_p95_ms": "p95"}))


def _errors(client: ApiClient, dataset: str) -> None:
    """Refused requests, from the /metrics counters sampled on every refresh."""
    st.subheader("Errors")
    now = scrape.sample(page_setup.call(client.metrics_text), dataset, datetime.now(UTC))
    key = f"monitoring-scrapes-{client.base_url}-{dataset}"
    history = scrape.append(st.session_state.get(key, []), now)
    st.session_state[key] = history
    share = now.errors / now.requests if now.requests else 0.0
    st.metric("Error rate since the server started", f"{share:.1%}",
              help=f"{now.errors:,.0f} of {now.requests:,.0f} requests refused (status ≠ 2xx)")
    rates = scrape.rates(history)
    if len(rates):
        st.caption("Error rate between refreshes of this page")
        st.line_chart(rates)
    else:
        st.caption("Refresh this page (or turn on auto-refresh) to chart the error rate over "
                   "time.")


def _stats_frame(decision: dict[str, Any], metric: str) -> pd.DataFrame:
    """One row per variant: the metric's mean and its confidence interval."""
    rows = []
    for role in ("champion", "challenger"):
        stats = decision.get(role)
        if stats and stats["labelled"] and stats[metric]["mean"] is not None:
            rows.append({"name": f"{stats['variant']} v{stats['model_version']} "
                                 f"(n={stats['labelled']})", **stats[metric]})
    return pd.DataFrame(rows)


def _live(client: ApiClient, dataset: str) -> None:
    """Live MAE and coverage per variant, and the A/B decision."""
    st.subheader("Live error and the A/B decision")
    found = page_setup.call(client.insight, dataset, "ab")
    decision = found["decision"]
    st.info(f"**{decision['action']}** ({decision['mode']} mode): {decision['reason']}",
            icon=":material/balance:")
    last = found.get("last_applied")
    if last:
        st.caption(f"Last applied decision: {last['action']} v{last['from_version']} → "
                   f"v{last['to_version']} at {last['at']}")
    mae = _stats_frame(decision, "mae")
    if mae.empty:
        st.caption("No labelled predictions yet: send feedback (actual prices) to "
                   f"POST /v1/{dataset}/feedback with the bearer HOMEPRICE_FEEDBACK_TOKEN.")
        return
    left, right = st.columns(2)
    left.caption("Live MAE with its 95% anytime-valid confidence interval")
    left.altair_chart(charts.estimates(mae, "MAE"), width="stretch")
    target = found["coverage_target"]
    right.caption(f"Interval coverage (target {target:.0%}) with its confidence interval")
    right.altair_chart(charts.estimates(_stats_frame(decision, "coverage"), "coverage",
                                        target=target), width="stretch")
    difference = decision.get("difference_mae")
    if difference:
        st.caption(f"MAE(champion) − MAE(challenger): {human_number(difference['mean'])} "
                   f"[{human_number(difference['lower'])}, {human_number(difference['upper'])}]")


REPLAY_WINDOWS = ["1d", "7d", "30d"]


def replay_table(result: dict[str, Any]) -> pd.DataFrame:
    """The rows of `ab evaluate`'s table for a replay: served champion, then the replayed model."""
    rows = []
    for role in ("champion", "challenger"):
        stats = result.get(role)
        if not stats:
            continue
        mae, coverage = stats["mae"], stats["coverage"]
        rows.append({"variant": stats["variant"], "version": stats["model_version"],
                     "labelled": stats["labelled"],
                     "MAE [CS]": f"{human_number(mae['mean'])} [{human_number(mae['lower'])}, "
                                 f"{human_number(mae['upper'])}]",
                     "RMSE": human_number(stats["rmse"]),
                     "MAPE": f"{stats['mape']:.1%}",
                     "coverage [CS]": f"{coverage['mean']:.3f} "
                                      f"[{max(coverage['lower'], 0):.3f}, "
                                      f"{min(coverage['upper'], 1):.3f}]"})
    return pd.DataFrame(rows)


def _replay(client: ApiClient, dataset: str) -> None:
    """A model (the challenger by default) replayed on logged, labelled requests."""
    st.subheader("Replay on logged requests")
    st.caption("The model scored offline on the labelled requests the champion served, paired "
               "with what the champion answered: the same table and decision as the live A/B "
               "test, as evidence only (nothing is applied).")
    left, right = st.columns(2)
    model = left.text_input("Model to replay", "challenger", key=f"replay-model-{dataset}",
                            help="An alias (challenger) or a version number.")
    window = right.selectbox("Requests of the last", REPLAY_WINDOWS, index=1,
                             key=f"replay-window-{dataset}")
    found = page_setup.optional(client.replay, dataset, model.strip() or "challenger", window)
    if found is None:
        return
    st.info(f"**{found['action']}** ({found['note']}): {found['reason']}",
            icon=":material/history:")
    st.dataframe(replay_table(found), hide_index=True)


def _drift(client: ApiClient, dataset: str) -> None:
    """The latest drift check: share of drifted inputs and per-column scores."""
    st.subheader("Drift")
    result = page_setup.optional(client.insight, dataset, "drift")
    if result is None:
        return
    share, threshold = result["drift_share"], result["threshold"]
    left, middle, right = st.columns(3)
    left.metric("Drifted inputs", f"{share:.0%}", help=f"alert at {threshold:.0%}",
                delta="alert" if result["alert"] else "below threshold",
                delta_color="inverse" if result["alert"] else "off")
    middle.metric("Requests checked", f"{result['rows_current']:,}")
    right.metric("Champion", f"v{result['model_version']}")
    scores = pd.DataFrame([{"column": column, **score}
                           for column, score in result["column_scores"].items()])
    if len(scores):
        st.altair_chart(alt.Chart(scores).mark_bar().encode(
            x=alt.X("score:Q", title="drift score (test statistic or p-value)"),
            y=alt.Y("column:N", sort="-x", title=None),
            color=alt.Color("drifted:N", scale=alt.Scale(domain=[True, False],
                                                         range=["#d62728", "#1f77b4"])),
            tooltip=["column", "method", "score", "threshold", "drifted"]), width="stretch")
    st.caption(f"Checked at {result['created_at']}.")
    report = page_setup.optional(client.drift_report_html, dataset)
    if report is not None:
        st.download_button("Download the drift report (HTML)", report,
                           file_name=f"drift-{dataset}.html", mime="text/html",
                           icon=":material/download:")


client, dataset = page_setup.page_start("Monitoring", "Traffic, errors, live A/B and drift")
auto = st.toggle("Auto-refresh every 15 s", key="monitoring-auto")


@st.fragment(run_every=15 if auto else None)
def _panels() -> None:
    _traffic(client, dataset)
    _errors(client, dataset)
    _live(client, dataset)
    _drift(client, dataset)


_panels()
# Outside the auto-refresh: a replay scores a model over days of requests.
_replay(client, dataset)
