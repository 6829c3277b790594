"""The persisted index: passages, their vectors and the ANN structure on disk (written atomically,
one generation at a time), kept in step with the articles folder, locally or on Ray workers."""
