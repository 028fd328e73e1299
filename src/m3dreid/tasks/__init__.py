"""The application layer: what a command does, as one call each, for the CLI, the experiments, the index and the demo.

- :mod:`m3dreid.tasks.evaluate`: find a run's checkpoint, load the trained model, extract a split's features (one
  function, one file name: ``RUN/features.npz``), evaluate a run under its dataset's protocol(s).
- :mod:`m3dreid.tasks.train`: train a run from its config, or assemble a two-stream model from two trained streams.

Building a model from a config and loading a trained one are :mod:`m3dreid.models.build`'s (deploy and the Python
API use them without the training engine). The submodules import their heavy parts lazily, so that
``import m3dreid.tasks`` stays cheap.
"""
