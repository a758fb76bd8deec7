"""Point forecasters: baselines and the learned model, behind one small interface."""
