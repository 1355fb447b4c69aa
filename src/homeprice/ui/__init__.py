"""The web UI: a Streamlit client of the homeprice HTTP API (`homeprice ui`)."""
