"""Streamlit-side helpers shared by the pages (the only package besides pages/ and app.py that imports streamlit)."""
