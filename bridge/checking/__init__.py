"""The parts of `tfbridge check`: the TF1 reference, the ports run against it, the ladder."""
