"""Graph style: the TF1 idiom run in a tf.compat.v1.Session."""
