"""Local-only support: the embedded AWS stack, demo data and the template reader. Never shipped to Lambda."""
