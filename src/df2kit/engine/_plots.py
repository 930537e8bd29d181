"""Loss curves of a run as a PNG (matplotlib, imported only here and only when drawing)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes


def plot_losses(records: list[dict[str, Any]], path: Path, *, title: str = "") -> bool:
    """Draw the total and each loss against the optimizer step; False when there is nothing to draw."""
    steps = [r for r in records if r.get("type") == "step"]
    if not steps:
        return False
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    # a loss that is 0 throughout (a head the model does not have, such as the semantic branch) has no curve
    names = sorted(k for k in {k for r in steps for k in r if k.startswith("loss_")} if any(r.get(k) for r in steps))
    x = [r["step"] for r in steps]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    try:
        ax1.plot(x, [r["loss"] for r in steps], color="black", lw=1.5, label="total (weighted)")
        for n in names:
            ax1.plot(x, [r.get(n, float("nan")) for r in steps], lw=1, label=n.removeprefix("loss_"))
        ax1.set_yscale("log")
        ax1.set_xlabel("optimizer step")
        ax1.set_ylabel("loss")
        ax1.grid(alpha=0.3)
        ax1.legend(fontsize=7, ncol=2)
        ax2.plot(x, [r["lr"] for r in steps], color="tab:blue")
        ax2.set_xlabel("optimizer step")
        ax2.set_ylabel("learning rate")
        ax2.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return True
