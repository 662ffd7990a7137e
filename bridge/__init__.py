"""tf.function style, and the machinery that compares the three styles."""
