"""Layers in and out of files: each layer's attributes, reading and writing files, import, export and the seed."""
