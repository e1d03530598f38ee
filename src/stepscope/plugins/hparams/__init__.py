"""The hparams kind."""
