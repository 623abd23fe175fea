"""The gallery's order: what a user needs first (sphinx-gallery's
``within_subsection_order``, given by name so that the configuration pickles)."""

ORDER = [
    "plot_topics_20newsgroups.py",  # topics of a corpus: the main job
    "plot_choose_k.py",  # how many topics
    "plot_guided_topics.py",  # topics around chosen words
    "plot_streaming_sgd.py",  # corpora that do not fit in memory
    "plot_dask.py",  # a cluster
    "plot_digits_parts.py",  # NMF beyond text: parts of images
    "plot_autograd_custom_loss.py",  # your own loss
]


class ExampleOrder:
    """Sort key: the place of an example in ORDER (unlisted ones last, by name)."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (ORDER.index(filename), "") if filename in ORDER else (len(ORDER), filename)

    def __repr__(self):
        return "ExampleOrder()"
