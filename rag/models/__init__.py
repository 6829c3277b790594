"""Wrappers of the local models: the sentence encoder, the answer reader, the generator, their ONNX
exports and the per-CPU precision choice. Each loads lazily and is shared between pipelines."""
