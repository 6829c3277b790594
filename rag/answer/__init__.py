"""The answer layer, stage by stage: question analysis, retrieval, grounding and reading, the
calibrated score, the answer-or-decline decision, answer assembly, drafting and verification.
Composed in one place, ``rag.pipeline``."""
