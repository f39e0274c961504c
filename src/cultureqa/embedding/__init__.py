"""Text to unit vectors: the model interface, its torch and ONNX Runtime backends, and the
factory that picks one from the settings."""
