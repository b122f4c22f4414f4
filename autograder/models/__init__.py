"""Pretrained models the autograder uses to score submissions (e.g. the MNIST digit classifier)."""
