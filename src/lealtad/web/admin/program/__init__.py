"""Console section Program: the program editor, rewards and products."""
