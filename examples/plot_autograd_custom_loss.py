"""
=======================================================
A custom loss and optimizer with AutogradNMF, on a GPU
=======================================================

:class:`~sklearn_nmfx.AutogradNMF` minimizes any differentiable loss with any
PyTorch optimizer: ``beta_loss`` takes a callable ``loss(X, WH) -> scalar
tensor`` and ``optimizer`` any ``torch.optim.Optimizer`` class.

Here the loss is robust to outliers. The handwritten digits of
:func:`sklearn.datasets.load_digits` (the first 1000) get "salt" noise: 8% of
their pixels are set to the maximum intensity. The Frobenius loss squares residuals, so it spends
components on the salt; a pseudo-Huber loss, quadratic for small residuals and
linear for large ones, lets the salt go. Both models are judged on how well
they rebuild the *clean* images from the noisy ones.

The code runs on a GPU when there is one: ``device = "cuda" if
torch.cuda.is_available() else "cpu"``; fitted attributes are NumPy arrays
whatever the device.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

from sklearn_nmfx import AutogradNMF

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"device: {device}")
if device == "cpu":
    torch.set_num_threads(1)  # 1000 x 64 is tiny: more CPU threads only cost here

clean = load_digits().data[:1000] / 16.0  # (1000, 64), in [0, 1]
rng = np.random.RandomState(0)
noisy = clean.copy()
noisy[rng.rand(*noisy.shape) < 0.08] = 1.0  # salt noise


def pseudo_huber(X, WH, delta=0.05):
    """sum(delta^2 (sqrt(1 + (r / delta)^2) - 1)): ~r^2/2 for small r, ~delta |r| for large."""
    r = (X - WH) / delta
    return delta**2 * torch.sum(torch.sqrt(1 + r * r) - 1)


common = dict(n_components=16, init="nndsvda", max_iter=1000, random_state=0,
              device=device)
models = {
    "Frobenius, Adam": AutogradNMF(**common),
    "pseudo-Huber, RMSprop": AutogradNMF(beta_loss=pseudo_huber,
                                         optimizer=torch.optim.RMSprop,
                                         learning_rate=0.01, **common),
}


def clean_error(model):
    """Relative error of the rebuilt noisy images against the clean ones."""
    rebuilt = model.transform(noisy) @ model.components_
    return np.linalg.norm(rebuilt - clean) / np.linalg.norm(clean)


for name, model in models.items():
    model.fit(noisy)
    print(f"{name}: {model.n_iter_} steps, error against the clean images "
          f"{clean_error(model):.3f}")

# %%
# The loss curves (each model's own loss) and a few rebuilt digits: the robust
# loss rebuilds the digits without the salt.
fig = plt.figure(figsize=(11, 4.2), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[1, 1.6])
axes = left.subplots(2, 1)
for ax, (name, model) in zip(axes, models.items()):
    ax.semilogy(model.loss_curve_)
    ax.set(title=name, xlabel="check (every 10 steps)", ylabel="loss")

grid = right.subplots(3, 5)
rows = [("noisy", noisy)] + [
    (name.split(",")[0], model.transform(noisy) @ model.components_)
    for name, model in models.items()]
for axes_row, (label, images) in zip(grid, rows):
    for j, ax in enumerate(axes_row):
        ax.imshow(images[j].reshape(8, 8), cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    axes_row[0].set_ylabel(label, fontsize=9)
plt.show()
