"""Matplotlib figures of results; every function takes ``ax=`` and returns its ``Figure``.

matplotlib is imported here and nowhere else in the library, on first use. Figures are made
with :mod:`matplotlib.pyplot` (so they show in notebooks and in sphinx-gallery) but never
shown: call ``plt.show()`` or ``fig.savefig(...)`` yourself, and ``plt.close(fig)`` when
making many. Plotting draws results; it does no analysis of its own (where a figure still
accepts a fit for an older call form, it says which public function it calls).

One function per figure, one module per topic:

- :mod:`~powerlaw_lm.plotting.fits`: :func:`plot_fit` (a fit's data, its curves with an
  interval band, and its residuals) and :func:`plot_laws` (several fits or published laws
  on one axis);
- :mod:`~powerlaw_lm.plotting.batch`: :func:`plot_critical_batch` and :func:`plot_tradeoff`
  (the critical batch size and the S-E trade-off, Kaplan et al. 2020, Figs. 10 and 11);
- :mod:`~powerlaw_lm.plotting.curves`: :func:`plot_learning_curves` (Kaplan Fig. 4);
- :mod:`~powerlaw_lm.plotting.allocation`: :func:`plot_isoflop` (Hoffmann et al. 2022,
  Fig. 3), :func:`plot_frontiers`, :func:`plot_loss_contours` and :func:`plot_figure1`
  (Kaplan Fig. 1);
- :mod:`~powerlaw_lm.plotting.backtest`: :func:`plot_backtest` (held-out predictions
  against the measured losses, with their intervals).
"""

from __future__ import annotations

from .allocation import plot_figure1, plot_frontiers, plot_isoflop, plot_loss_contours
from .backtest import plot_backtest
from .batch import plot_critical_batch, plot_tradeoff
from .curves import plot_learning_curves
from .fits import plot_fit, plot_laws

__all__ = [
    "plot_backtest",
    "plot_critical_batch",
    "plot_figure1",
    "plot_fit",
    "plot_frontiers",
    "plot_isoflop",
    "plot_laws",
    "plot_learning_curves",
    "plot_loss_contours",
    "plot_tradeoff",
]
