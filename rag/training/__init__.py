"""The programs that made the shipped weights: ``python -m rag.training.reader`` (the span reader)
and ``python -m rag.training.scorer`` (the answer score and decision). Nothing else imports them."""
