"""``df2kit train``: train Match R-CNN on a native DeepFashion2 split (real or synthetic).

Batches are couples of shop and user images that share a pair_id (``PairBatchSampler``, as the dataset paper
trained), so the matching head sees positive and negative item pairs in every batch. One run folder holds:

* ``checkpoint.pt``: rewritten atomically after every epoch (``--resume`` continues from it);
* ``metrics.jsonl``: one JSON object per line: ``{"type": "step", ...}`` every ``log_every`` optimizer steps
  (weighted total ``loss``, each ``loss_*``, ``lr``, ``images_per_s``), ``{"type": "epoch", ...}`` and, at the
  end, ``{"type": "eval", ...}`` with the scores on the validation split;
* ``loss_curves.png``; ``config.json`` (the settings in force); ``summary.json``; ``eval/`` with the result
  files of the validation split and one ``<task>.json`` per scored task.

Several GPUs or machines: start the same command with PyTorch's launcher (``torchrun --nproc_per_node 8 -m
df2kit train ...``); each process takes every n-th batch, gradients are averaged (DDP), process 0 writes.
On one machine's CPU, ``--processes N`` starts the N processes itself (gloo): for a small model, one
process per core trains faster than one process with a thread per core (the demo trains so on 2 cores).

>>> from df2kit.engine import build_config, train
>>> cfg = build_config(preset="small", overrides={"root": "synth", "out": "runs/toy", "epochs": 2})
>>> run_dir = train(cfg, progress=True)                                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .._atomic import atomic_write_bytes
from .._progress import progress_bar
from .._table import format_table
from .._workers import cpu_count
from ..errors import ConfigError, DF2Error
from ..formats.pairs import PairBatchSampler
from ..io.scan import scan_split
from ..models.match_rcnn import LOSS_NAMES, MatchRCNN
from ..models.weights import load_weights
from .checkpoint import CHECKPOINT_NAME, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import TrainDataset, check_batch, collate
from .inference import amp_dtype, autocast, resolve_device

__all__ = ["TrainSummary", "TrainingError", "read_summary", "train"]

log = logging.getLogger(__name__)


class TrainingError(DF2Error):
    """Training cannot go on (a loss became NaN or infinite, no batches to train on)."""


@dataclass(frozen=True)
class TrainSummary:
    """The outcome of a run (``summary.json`` in the run folder)."""

    run_dir: str
    epochs: int
    steps: int
    images_seen: int
    seconds: float
    images_per_second: float
    world_size: int
    device: str
    final_losses: dict[str, float]
    evaluation: dict[str, dict[str, float | None]]  #: task -> headline scores (empty when not evaluated; None: nothing to score)
    ddp_max_param_diff: float | None = None  #: largest weight difference between processes (0.0 = in sync)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def format(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("run folder", self.run_dir),
            ("epochs", self.epochs),
            ("optimizer steps", self.steps),
            ("images seen", self.images_seen),
            ("seconds", self.seconds),
            ("images/s", self.images_per_second),
            ("processes", self.world_size),
            ("device", self.device),
        ]
        rows += [(k, float(v)) for k, v in self.final_losses.items()]
        out = format_table(["", "value"], rows, title="df2kit train", digits=4)
        if self.evaluation:
            keys = list(dict.fromkeys(k for v in self.evaluation.values() for k in v))
            erows = [[task] + [self.evaluation[task].get(k) for k in keys] for task in self.evaluation]
            out += "\n\n" + format_table(["task"] + keys, erows, title="validation scores", digits=3)
        return out


def read_summary(run_dir: str | os.PathLike[str]) -> TrainSummary:
    """The summary a finished run wrote."""
    p = Path(run_dir) / "summary.json"
    try:
        data = orjson.loads(p.read_bytes())
    except FileNotFoundError:
        raise ConfigError("no summary.json: the run has not finished", path=str(p)) from None
    return TrainSummary(**data)


# ---- distributed set-up ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dist:
    rank: int
    world: int
    local_rank: int
    owned: bool  #: whether train() initialised the process group (and must destroy it)

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_name: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(0, 1, 0, False)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return _Dist(dist.get_rank(), dist.get_world_size(), local, False)
    use_cuda = torch.cuda.is_available() and device_name != "cpu"
    if use_cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), local, True)


def _device(config: TrainConfig, d: _Dist) -> torch.device:
    if d.world > 1 and torch.cuda.is_available() and config.device in ("auto", "cuda"):
        return torch.device("cuda", d.local_rank)
    return resolve_device(config.device)


# ---- learning rate ---------------------------------------------------------------------------------------
def lr_factor(step: int, warmup: int, total: int, schedule: str) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.1 ** (int(progress >= 2 / 3) + int(progress >= 8 / 9))
    return 1.0


# ---- metrics log -----------------------------------------------------------------------------------------
class _Metrics:
    """metrics.jsonl of the run (process 0 only); on resume, lines past the checkpoint are dropped."""

    def __init__(self, path: Path, *, keep_until_step: int | None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        if keep_until_step is not None and path.exists():
            for line in path.read_bytes().splitlines():
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut by an interruption
                if rec.get("type") in ("step", "epoch") and rec.get("step", 0) <= keep_until_step:
                    self.records.append(rec)
        atomic_write_bytes(path, b"".join(orjson.dumps(r) + b"\n" for r in self.records))

    def add(self, rec: dict[str, Any]) -> None:
        self.records.append(rec)
        with open(self.path, "ab") as f:
            f.write(orjson.dumps(rec, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _build_optimizer(config: TrainConfig, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    # fused kernels: one pass over all parameters per step instead of one per tensor (same numbers)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, fused=True)


def _check_run_dir(run_dir: Path, resume: bool) -> dict[str, Any] | None:
    ck_path = run_dir / CHECKPOINT_NAME
    if resume:
        if not ck_path.exists():
            raise ConfigError("--resume: the run folder has no checkpoint.pt to continue from", path=str(run_dir))
        return read_checkpoint(ck_path)
    if ck_path.exists() or (run_dir / "metrics.jsonl").exists():
        raise ConfigError(
            "the run folder already holds a run: pass --resume to continue it, or choose another --out",
            path=str(run_dir),
        )
    return None


def train(config: TrainConfig, *, progress: bool = False) -> Path:
    """Train as ``config`` says; returns the run folder (read its summary with :func:`read_summary`).

    With ``config.processes > 1`` the processes are started with ``spawn``, so a script that calls this
    needs the usual ``if __name__ == "__main__":`` guard around its own work."""
    if config.root is None:
        raise ConfigError("expected the dataset root (ROOT)", field="root")
    if config.out is None:
        raise ConfigError("expected a run folder (--out RUN_DIR)", field="out")
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if config.processes > 1 and os.environ.get(_SPAWNED) != str(config.processes):
        if launched:
            raise ConfigError("expected processes 1 under torchrun, which starts the processes itself", field="processes")
        return _train_processes(config, progress=progress)
    d = _init_distributed(config.device)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, d, progress=progress and d.main)
    finally:
        torch.set_num_threads(threads)
        if d.owned and dist.is_initialized():
            dist.destroy_process_group()


# ---- processes started here (--processes N, CPU) ---------------------------------------------------------
_SPAWNED = "DF2KIT_TRAIN_PROCESSES"  # set in the processes that _train_processes starts


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _train_processes(config: TrainConfig, *, progress: bool) -> Path:
    """Start ``config.processes`` local processes of this training (gloo, as torchrun would) and wait."""
    n = config.processes
    if resolve_device(config.device).type != "cpu":
        raise ConfigError(
            f"expected processes 1 on {config.device!r}: --processes trains on the CPU; for GPUs start one process "
            "per GPU with torchrun --nproc_per_node N -m df2kit train ...",
            field="processes",
        )
    # bad input is one clear error from this process, before any other starts (the scan is cached for them;
    # process 0 warns about skipped files, once)
    _check_run_dir(Path(config.out), config.resume)  # type: ignore[arg-type]
    scan_split(config.root, config.train_split, progress=progress, _log_skips=False)  # type: ignore[arg-type]
    threads = config.threads or max(1, cpu_count() // n)
    child = dataclasses.replace(config, threads=threads)
    lg = logging.getLogger("df2kit")
    fmt = next((h.formatter for h in lg.handlers if isinstance(h, logging.StreamHandler)), None)
    log.info("training in %d processes of %d thread%s (gloo)", n, threads, "s" if threads > 1 else "")
    import torch.multiprocessing as mp

    try:
        mp.start_processes(
            _process_main, args=(child, n, _free_port(), progress, lg.level, fmt), nprocs=n, join=True,
            start_method="spawn",
        )
    except mp.ProcessRaisedException as e:
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
        last = re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", lines[-1]) if lines else str(e)  # the exception's class, no module
        raise TrainingError(f"training process {e.error_index} of {n} failed: {last}") from None
    except mp.ProcessExitedException as e:
        raise TrainingError(f"training process {e.error_index} of {n} stopped: {e}") from None
    return Path(config.out)  # type: ignore[arg-type]


def _process_main(
    rank: int, config: TrainConfig, world: int, port: int, progress: bool, level: int, fmt: logging.Formatter | None
) -> None:
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), **{_SPAWNED: str(world)},
    )
    lg = logging.getLogger("df2kit")
    if fmt is not None:  # the parent's CLI logging; process 0 alone says what every process does
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(fmt)
        lg.handlers[:] = [handler]
        lg.propagate = False
    lg.setLevel(level if rank == 0 else logging.ERROR)
    train(config, progress=progress)


def _train(config: TrainConfig, d: _Dist, *, progress: bool) -> Path:
    device = _device(config, d)
    run_dir = Path(config.out)  # type: ignore[arg-type]
    ck = _check_run_dir(run_dir, config.resume)
    if ck is not None:
        saved = TrainConfig.from_dict(ck["config"])
        if saved.model != config.model:
            log.warning("--resume: the run's own model settings are used (the ones given differ)")
        config = dataclasses.replace(config, model=saved.model, weights=saved.weights, backbone_weights=saved.backbone_weights)
    # data and weights are read and checked before the run folder is made: bad input leaves nothing behind
    table = scan_split(config.root, config.train_split, progress=progress)  # type: ignore[arg-type]
    if config.max_train_images is not None and len(table) > config.max_train_images:
        table = table.select(np.arange(config.max_train_images))
    sampler = PairBatchSampler(
        table, config.pairs_per_batch, seed=config.seed, shuffle=True, drop_last=False, num_replicas=d.world, rank=d.rank
    )
    batches = len(sampler)
    if batches == 0:
        raise TrainingError("no training batch: the split has no shop/user couple", path=str(table.split_dir))
    torch.manual_seed(config.seed)
    model = MatchRCNN(config.model, backbone_weights=config.backbone_weights, pretrained=config.weights is not None)
    if config.weights is not None and ck is None:
        load_weights(model, config.weights)
    if d.world > 1:
        dist.barrier()  # every process has checked the folder before process 0 writes into it
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(run_dir / "config.json", orjson.dumps(config.to_dict(), option=orjson.OPT_INDENT_2))
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _build_optimizer(config, params)
    steps_per_epoch = -(-batches // config.grad_accum)
    total_steps = config.epochs * steps_per_epoch
    warmup = min(config.warmup_steps, max(1, total_steps // 4)) if config.warmup_steps else 0
    if warmup < config.warmup_steps:
        log.info("warm-up shortened to %d of %d optimizer steps", warmup, total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, warmup, total_steps, config.schedule)
    )
    dtype = amp_dtype(config.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    start_epoch, step, images_seen = 0, 0, 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        start_epoch, step, images_seen = int(ck["epoch"]), int(ck["step"]), int(ck.get("images_seen", 0))
        _set_rng_state(ck["rng"])
        log.info("resuming after epoch %d (step %d)", start_epoch, step)
    net: torch.nn.Module = model
    if d.world > 1:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    dataset = TrainDataset(table, hflip=config.hflip, seed=config.seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=config.workers, collate_fn=collate,
        pin_memory=device.type == "cuda",
    )
    metrics = _Metrics(run_dir / "metrics.jsonl", keep_until_step=step if ck is not None else None) if d.main else None
    weights = {k: config.loss.of(k) for k in LOSS_NAMES}
    t0 = time.perf_counter()
    last: dict[str, float] = {}
    for epoch in range(start_epoch, config.epochs):
        sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        net.train()
        sums = torch.zeros(len(LOSS_NAMES) + 3, dtype=torch.float64)  # losses, total, images, batches
        window = torch.zeros_like(sums)
        t_win = t_epoch = time.perf_counter()
        bar = progress_bar(total=batches, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", enabled=progress)
        try:
            for i, batch in enumerate(loader):
                check_batch(batch)
                images = [s["image"].to(device, non_blocking=True).float().div_(255.0) for s in batch]
                targets = [{k: v.to(device, non_blocking=True) for k, v in s["target"].items()} for s in batch]
                sync = (i + 1) % config.grad_accum == 0 or i + 1 == batches
                ctx = net.no_sync() if (d.world > 1 and not sync) else contextlib.nullcontext()  # type: ignore[operator]
                with ctx:
                    with autocast(device, dtype):
                        losses = net(images, targets)
                    total = sum(weights[k] * losses[k].float() for k in LOSS_NAMES)
                    if not torch.isfinite(total):
                        bad = [k for k in LOSS_NAMES if not torch.isfinite(losses[k])]
                        raise TrainingError(
                            f"{', '.join(bad) or 'the loss'} became {float(total)} at epoch {epoch + 1}, batch {i + 1}: "
                            "lower --lr, add --clip-grad-norm, or use --amp off"
                        )
                    scaler.scale(total / config.grad_accum).backward()
                vals = torch.tensor(
                    [float(losses[k].detach()) for k in LOSS_NAMES] + [float(total.detach()), len(images), 1.0], dtype=torch.float64
                )
                sums += vals
                window += vals
                images_seen += len(images) * d.world
                if sync:
                    if config.clip_grad_norm > 0:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(params, config.clip_grad_norm)
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                    scheduler.step()
                    step += 1
                    if step % config.log_every == 0:
                        win = _all_sum(window, d)
                        rec = _loss_record(win, "step", epoch + 1, step, optimizer, time.perf_counter() - t_win)
                        if metrics is not None:
                            metrics.add(rec)
                        window.zero_()
                        t_win = time.perf_counter()
                bar.update(1)
                bar.set_postfix_str(
                    f"loss {float(vals[len(LOSS_NAMES)]):.3f} lm {float(vals[LOSS_NAMES.index('loss_landmark')]):.2f} "
                    f"match {float(vals[LOSS_NAMES.index('loss_match')]):.3f} "
                    f"{float(sums[-2]) * d.world / max(time.perf_counter() - t_epoch, 1e-9):.1f} img/s"
                )
        finally:
            bar.close()
        ep = _all_sum(sums, d)
        rec = _loss_record(ep, "epoch", epoch + 1, step, optimizer, None)
        last = {k: rec[k] for k in ("loss", *LOSS_NAMES)}
        if d.main:
            assert metrics is not None
            metrics.add(rec)
            save_checkpoint(
                run_dir / CHECKPOINT_NAME,
                {
                    "config": config.to_dict(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch + 1,
                    "step": step,
                    "images_seen": images_seen,
                    "rng": _rng_state(),
                },
            )
            from ._plots import plot_losses

            plot_losses(metrics.records, run_dir / "loss_curves.png", title=f"df2kit train: {run_dir.name}")
            log.info("epoch %d/%d: loss %.4f (checkpoint written)", epoch + 1, config.epochs, rec["loss"])
        if d.world > 1:
            dist.barrier()
    seconds = time.perf_counter() - t0
    diff = _param_spread(model, d) if d.world > 1 else None
    if d.world > 1:
        del net  # DDP's reducer holds the process group
        dist.barrier()  # the last collective call: every process is past training
        if d.owned:
            # all processes together, before process 0 evaluates alone: gloo's threads of a process group that
            # is torn down while a peer is already exiting can abort the process ("terminate called ...")
            dist.destroy_process_group()
    if not d.main:
        return run_dir  # process 0 evaluates and writes the summary
    evaluation: dict[str, dict[str, float | None]] = {}
    if config.evaluate and config.val_split is not None:
        evaluation = _evaluate(model, config, device, run_dir, progress=progress)
        if evaluation and metrics is not None:
            metrics.add({"type": "eval", "step": step, "split": config.val_split, **evaluation})
    summary = TrainSummary(
        run_dir=str(run_dir),
        epochs=config.epochs,
        steps=step,
        images_seen=images_seen,
        seconds=round(seconds, 2),
        images_per_second=round(images_seen / max(seconds, 1e-9), 3) if config.epochs > start_epoch else 0.0,
        world_size=d.world,
        device=str(device),
        final_losses=last,
        evaluation=evaluation,
        ddp_max_param_diff=diff,
    )
    atomic_write_bytes(run_dir / "summary.json", orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
    return run_dir


def _all_sum(t: torch.Tensor, d: _Dist) -> torch.Tensor:
    if d.world == 1:
        return t.clone()
    out = t.clone()
    if dist.get_backend() == "nccl":
        out = out.cuda()
    dist.all_reduce(out)
    return out.cpu()


def _loss_record(
    sums: torch.Tensor, kind: str, epoch: int, step: int, optimizer: torch.optim.Optimizer, seconds: float | None
) -> dict[str, Any]:
    """Mean losses per batch from summed ``[losses..., total, images, batches]`` (summed over processes)."""
    n_img, batches = float(sums[-2]), max(float(sums[-1]), 1.0)
    rec: dict[str, Any] = {"type": kind, "epoch": epoch, "step": step, "lr": optimizer.param_groups[0]["lr"]}
    rec["loss"] = round(float(sums[len(LOSS_NAMES)]) / batches, 6)
    for k, v in zip(LOSS_NAMES, sums[: len(LOSS_NAMES)].tolist()):
        rec[k] = round(v / batches, 6)
    rec["images"] = int(n_img)
    if seconds is not None:
        rec["images_per_s"] = round(n_img / max(seconds, 1e-9), 3)
    return rec


def _param_spread(model: torch.nn.Module, d: _Dist) -> float:
    """Largest absolute difference of any parameter between this process and process 0 (all processes).

    Buffers (batch-norm running statistics) are left out: DDP copies process 0's into the others before
    each forward pass, so after the last one they differ by design, and checkpoints hold process 0's.
    """
    worst = torch.zeros(1, dtype=torch.float64)
    for p in model.parameters():
        ref = p.detach().clone()
        dist.broadcast(ref, 0)
        worst = torch.maximum(worst, (p.detach() - ref).abs().max().double().cpu().reshape(1))
    t = worst.to(next(model.parameters()).device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def _evaluate(
    model: MatchRCNN, config: TrainConfig, device: torch.device, run_dir: Path, *, progress: bool
) -> dict[str, dict[str, float | None]]:
    from ._eval import evaluate_split

    try:
        table = scan_split(config.root, config.val_split, progress=progress)  # type: ignore[arg-type]
    except DF2Error as e:
        log.warning("no evaluation: %s", e)
        return {}
    if config.max_val_images is not None and len(table) > config.max_val_images:
        table = table.select(np.arange(config.max_val_images))
    return evaluate_split(
        model, table, run_dir / "eval", device=device, batch_size=config.eval_batch_size, workers=config.workers,
        amp=config.amp, progress=progress,
    )
