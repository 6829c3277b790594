"""Measuring answers: the eval README's metrics, the news clusters and the SQuAD open setting with
their committed splits (``rag eval``). Answering never imports this package."""
