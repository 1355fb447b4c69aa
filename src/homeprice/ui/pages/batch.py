"""Batch: upload a CSV in the dataset's source format -> priced rows, a download, and the rows
the API rejected with its reason."""

from __future__ import annotations

import streamlit as st

from homeprice.ui import batching, page_setup
from homeprice.ui.client import ApiError, ApiUnreachable

client, dataset = page_setup.page_start("Batch pricing", "A CSV file in the dataset's source "
                                                     "format, priced through the API")
specs = page_setup.request_fields(client, dataset)
settings = page_setup.ui_settings()
st.caption("Columns: " + ", ".join(f"**{s.name}**" if s.required else s.name for s in specs)
           + " (bold: required; other columns, such as the actual price, are kept as they are).")
upload = st.file_uploader("CSV file", type=["csv"], key=f"batch-upload-{dataset}")
if upload is not None:
    try:
        frame = batching.read_csv(upload.getvalue(), upload.name)
    except ValueError as error:
        st.error(str(error))
        st.stop()
    bar = st.progress(0.0, text=f"Pricing {len(frame):,} rows")

    def report(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Sent {done:,} of {total:,} rows")

    try:
        outcome = batching.price_frame(client, dataset, frame, specs,
                                       settings.batch_chunk_rows, report)
    except ValueError as error:
        st.error(f"{upload.name}: {error}")
        st.stop()
    except (ApiError, ApiUnreachable) as error:
        page_setup.stop_with(error)
    st.success(f"Priced {len(outcome.priced):,} of {len(frame):,} rows; "
               f"{len(outcome.rejected):,} rejected.")
    if outcome.ignored_columns:
        st.caption("Not sent to the API: " + ", ".join(outcome.ignored_columns))
    if len(outcome.priced):
        st.dataframe(outcome.priced, hide_index=True)
        st.download_button("Download priced rows (CSV)",
                           outcome.priced.to_csv(index=False).encode(),
                           file_name=f"{upload.name.removesuffix('.csv')}-priced.csv",
                           mime="text/csv", icon=":material/download:")
    if len(outcome.rejected):
        st.subheader("Rejected rows")
        st.caption("Row numbers count data rows from 1 (the header is not counted).")
        st.dataframe(outcome.rejected, hide_index=True)
