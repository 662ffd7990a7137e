"""The tf.function style: the eager step traced into a graph, per step or fused, optionally XLA."""
