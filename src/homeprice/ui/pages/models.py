"""Models: registered versions with aliases, lifecycle stage and metrics, the audit history,
promote/rollback.

The admin token is typed per session: it stays in this browser session's memory, is sent as a
bearer token to the admin API, and is never written to disk.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from homeprice.ui import page_setup
from homeprice.ui.client import ApiClient, ApiError, ApiUnreachable

_NOTICE = "models-notice"


def versions_frame(versions: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per version: aliases, lifecycle stage (champion, challenger in live evaluation,
    retired, previous champion, gate failed, registered), candidate, test metrics and the
    gate's outcome."""
    rows = [{"version": v["version"], "aliases": ", ".join(v["aliases"]) or "—",
             "stage": v.get("stage"), "stage detail": v.get("stage_detail") or "",
             "candidate": v.get("candidate"), "created": v.get("created"),
             **{name: value for name, value in sorted(v.get("metrics", {}).items())},
             "gate": v.get("gate")} for v in versions]
    return pd.DataFrame(rows)


def _admin(client: ApiClient, dataset: str, versions: list[str]) -> None:
    """Promote and rollback forms; each asks for the admin token."""
    promote, rollback = st.columns(2)
    with promote.form(f"promote-{dataset}"):
        st.markdown("**Promote a version to champion**")
        version = st.selectbox("Version", versions, key=f"promote-version-{dataset}")
        reason = st.text_input("Reason", key=f"promote-reason-{dataset}")
        token = st.text_input("Admin token", type="password", key=f"promote-token-{dataset}")
        if st.form_submit_button("Promote", icon=":material/upgrade:"):
            _act(lambda: client.promote(dataset, str(version), reason, token), reason, token)
    with rollback.form(f"rollback-{dataset}"):
        st.markdown("**Roll back to the previous champion**")
        reason = st.text_input("Reason", key=f"rollback-reason-{dataset}")
        token = st.text_input("Admin token", type="password", key=f"rollback-token-{dataset}")
        if st.form_submit_button("Roll back", icon=":material/undo:"):
            _act(lambda: client.rollback(dataset, reason, token), reason, token)


def _act(action: Any, reason: str, token: str) -> None:
    """Run an admin call and say what happened."""
    if not token:
        st.error("Enter the admin token (HOMEPRICE_ADMIN_TOKEN of the API).")
        return
    if not reason.strip():
        st.error("Give a reason: it is written to the audit history.")
        return
    try:
        answer = action()
    except ApiError as error:
        meaning = {401: "the admin token was refused",
                   403: "admin is disabled on this API (HOMEPRICE_ADMIN_TOKEN is not set)"}
        st.error(f"{meaning.get(error.status, 'refused')}: {error.message}")
        return
    except ApiUnreachable as error:
        page_setup.stop_with(error)
    audit = answer["audit"]
    # Draw the page again so the tables show the move; the notice survives the rerun.
    st.session_state[_NOTICE] = (f"{audit['action']}: champion v{audit['from_version']} → "
                                 f"v{audit['to_version']}; the server reloaded it.")
    st.rerun()


client, dataset = page_setup.page_start("Models", "Registered versions, aliases and the audit "
                                              "history")
if _NOTICE in st.session_state:
    st.success(st.session_state.pop(_NOTICE), icon=":material/check_circle:")
found = page_setup.call(client.insight, dataset, "models")
if not found["versions"]:
    st.info(f"No registered {dataset} versions yet: run `homeprice pipeline run`.")
    st.stop()
frame = versions_frame(found["versions"])
st.subheader("Versions")
st.dataframe(frame, hide_index=True)
metrics = [c for c in ("rmse", "mae", "mape", "r2") if c in frame.columns]
if metrics:
    metric = st.segmented_control("Test metric", metrics, default=metrics[0],
                                  key=f"models-metric-{dataset}") or metrics[0]
    st.bar_chart(frame.set_index("version")[metric].rename(f"test {metric}"), horizontal=True)
st.subheader("Audit history")
history = pd.DataFrame(found["history"])
if len(history):
    st.dataframe(history[["at", "action", "alias", "from_version", "to_version", "reason",
                          "actor"]], hide_index=True)
st.subheader("Promote or roll back")
_admin(client, dataset, [v["version"] for v in found["versions"]])
