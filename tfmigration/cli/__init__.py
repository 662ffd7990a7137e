"""What the three CLIs share: options, output formatting, the train/list/grad commands.

The edge: library code never imports from here.
"""
