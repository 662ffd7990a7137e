"""Where the styles meet: the tf.function style (`bridge.function`), the comparisons that run
all three, checks of users' migrations, and the `tfbridge` command line."""
