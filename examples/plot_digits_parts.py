"""
=====================================================
Parts-based representation of images: NMF versus SVD
=====================================================

Lee and Seung (1999) showed that non-negative matrix factorization learns the
*parts* of objects: because W and H are non-negative, an image can only be built
by adding components, never by cancelling them, so each component is a localized
stroke or patch. A truncated SVD (like PCA) learns global, holistic components
with positive and negative pixels that cancel each other.

Here both factorize the 1797 handwritten digits of
:func:`sklearn.datasets.load_digits` (8 x 8 pixels, one image per row of X) into
16 components, drawn as 8 x 8 images: NMF components (:class:`~sklearn_nmfx.MUNMF`)
in a sequential colormap, SVD components (:class:`~sklearn_nmfx.TruncatedSVDTopics`)
in a diverging one (red positive, blue negative).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_nmfx import MUNMF, TruncatedSVDTopics

X = load_digits().data  # (1797, 64), pixel intensities 0..16
nmf = MUNMF(n_components=16, init="nndsvda", max_iter=500, random_state=0).fit(X)
svd = TruncatedSVDTopics(n_components=16, random_state=0).fit(X)

# %%
# How localized are the components? The share of each component's weight
# carried by its 10 strongest pixels (of 64): high for parts, low for wholes.


def concentration(components, n_pixels=10):
    weights = np.abs(components)
    top = np.sort(weights, axis=1)[:, ::-1][:, :n_pixels]
    return float(np.mean(top.sum(axis=1) / weights.sum(axis=1)))


print(f"NMF: {concentration(nmf.components_):.2f} of the weight in 10 pixels; "
      f"{np.mean(nmf.components_ == 0):.0%} of the weights are exactly 0")
print(f"SVD: {concentration(svd.components_):.2f} of the weight in 10 pixels; "
      f"{np.mean(svd.components_ < 0):.0%} of the weights are negative")

# %%
# The components as images
# ------------------------


def plot_grid(fig, components, title, cmap, symmetric):
    axes = fig.subplots(4, 4)
    for ax, component in zip(axes.ravel(), components):
        image = component.reshape(8, 8)
        limit = np.abs(image).max()
        ax.imshow(image, cmap=cmap, vmin=-limit if symmetric else 0, vmax=limit,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)


fig = plt.figure(figsize=(10, 5.4), layout="constrained")
left, right = fig.subfigures(1, 2, wspace=0.05)
plot_grid(left, nmf.components_, "MUNMF: additive parts", "Greys", symmetric=False)
plot_grid(right, svd.components_, "TruncatedSVDTopics: signed wholes", "RdBu_r",
          symmetric=True)
plt.show()

# %%
# Reconstructing one digit
# ------------------------
# An image is ``W[i] @ H``: with NMF a sum of a few parts (its largest weights),
# with SVD a signed combination of all components.
i = 0
W_nmf, W_svd = nmf.transform(X[i:i + 1])[0], svd.transform(X[i:i + 1])[0]
order = np.argsort(W_nmf)[::-1][:4]
fig, axes = plt.subplots(1, 7, figsize=(12, 2.2))
panels = [(X[i], "original"), (W_nmf @ nmf.components_, "NMF rebuild"),
          (W_svd @ svd.components_, "SVD rebuild")]
panels += [(nmf.components_[j], f"part {j}, w={W_nmf[j]:.1f}") for j in order]
for ax, (image, title) in zip(axes, panels):
    ax.imshow(np.reshape(image, (8, 8)), cmap="Greys", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
