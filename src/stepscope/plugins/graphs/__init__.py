"""The graphs kind: model graphs (op graphs, Keras's conceptual graphs) and run metadata."""
