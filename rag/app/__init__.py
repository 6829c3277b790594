"""The ways in: the ``rag`` command line, the Gradio chat, and the client of a running ``rag serve``."""
