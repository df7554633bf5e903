"""The built-in offline CLIP benchmark: procedural scenes and captions, a small CLIP trained from scratch."""
