"""Entry point of the web UI (`homeprice ui` runs `streamlit run` on this file)."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="homeprice", page_icon=":material/home:", layout="wide")
page = st.navigation([
    st.Page(PAGES / "price.py", title="Price a home", icon=":material/sell:", default=True),
    st.Page(PAGES / "batch.py", title="Batch", icon=":material/table_view:"),
    st.Page(PAGES / "models.py", title="Models", icon=":material/model_training:"),
    st.Page(PAGES / "monitoring.py", title="Monitoring", icon=":material/monitoring:"),
    st.Page(PAGES / "data.py", title="Data", icon=":material/fact_check:"),
])
page.run()
