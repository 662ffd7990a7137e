"""Checkpoints as data: what a training run must keep to continue bit for bit, the names TF1's
`Saver` and our TF2 `tf.train.Checkpoint` give each piece, and the checkpoint files on disk.

Pure Python and NumPy: the styles read and write the files with TensorFlow (graph style with
TF1's `Saver`, eager and tf.function with `tf.train.Checkpoint`) and hand the arrays here.
"""
