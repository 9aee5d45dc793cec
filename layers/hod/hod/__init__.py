"""Help On Demand: the shared package behind every function (shipped as a Lambda layer)."""
