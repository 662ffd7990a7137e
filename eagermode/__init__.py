"""Eager style: tf.GradientTape, assign_sub and Keras optimizers."""
