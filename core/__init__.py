"""PyTorch Lab's computations: plain Python + torch, one module per concept. Never imports streamlit."""
