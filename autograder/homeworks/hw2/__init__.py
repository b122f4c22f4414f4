"""Homework 2: a convolutional autoencoder on emoji images (see ``spec.py``)."""
