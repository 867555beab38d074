"""One SAELens TopK training run on CPU, timed; prints one JSON line.

Usage: saelens_run.py N M K STEPS BATCH LR MODE THREADS DTYPE [POOL]
  MODE = stream: SAELens's own synthetic generator in the loop (as `train_toy_sae`);
         pregen: POOL batches (default 8) drawn beforehand and cycled, so only training is timed.
The law: linear firing probabilities scaled so that the mean L0 is K, magnitudes 1 ± 0.1, an
orthogonalized random feature dictionary (SAELens's default initializer). MCC is SAELens's
`mean_correlation_coefficient` (Hungarian-matched mean |cos|) of W_dec against the features.
"""
import itertools
import json
import resource
import sys
import time

import torch
from sae_lens import TopKTrainingSAE, TopKTrainingSAEConfig
from sae_lens.config import LoggingConfig, SAETrainerConfig
from sae_lens.synthetic import (
    ActivationGenerator,
    FeatureDictionary,
    SyntheticActivationIterator,
    linear_firing_probabilities,
    mean_correlation_coefficient,
)
from sae_lens.training.sae_trainer import SAETrainer

n, m, k, steps, batch = (int(a) for a in sys.argv[1:6])
lr = float(sys.argv[6])
mode = sys.argv[7]
threads = int(sys.argv[8])
dtype = sys.argv[9]
pool_size = int(sys.argv[10]) if len(sys.argv) > 10 else 8
torch.set_num_threads(threads)
torch.manual_seed(0)

probs = linear_firing_probabilities(m, 0.16, 0.01)
probs = (probs * (k / probs.sum())).clamp(max=1.0)
gen = ActivationGenerator(m, probs, std_firing_magnitudes=0.1, mean_firing_magnitudes=1.0)
fd = FeatureDictionary(m, n, seed=0)
fd.eval()
data = SyntheticActivationIterator(feature_dict=fd, activations_generator=gen, batch_size=batch)
if mode == "pregen":
    with torch.no_grad():
        t_gen = time.perf_counter()
        pool = [next(data).to(getattr(torch, dtype)) for _ in range(pool_size)]
        gen_seconds = (time.perf_counter() - t_gen) / pool_size
    provider = itertools.cycle(pool)
else:
    provider = data
    gen_seconds = None

sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=n, d_sae=m, k=k, dtype=dtype, device="cpu"))
cfg = SAETrainerConfig(
    n_checkpoints=0,
    checkpoint_path=None,
    save_final_checkpoint=False,
    total_training_samples=steps * batch,
    device="cpu",
    autocast=False,
    lr=lr,
    lr_end=lr,
    lr_scheduler_name="constant",
    lr_warm_up_steps=0,
    adam_beta1=0.9,
    adam_beta2=0.999,
    lr_decay_steps=0,
    n_restart_cycles=1,
    train_batch_size_samples=batch,
    dead_feature_window=1000,
    feature_sampling_window=2000,
    logger=LoggingConfig(log_to_wandb=False, eval_every_n_wandb_logs=2**31 - 1),
    n_batches_for_norm_estimate=1000,
)
trainer = SAETrainer(cfg=cfg, sae=sae, data_provider=provider, save_checkpoint_fn=lambda p: None)
t0 = time.perf_counter()
trainer.fit()
secs = time.perf_counter() - t0
with torch.no_grad():
    mcc = mean_correlation_coefficient(fd.feature_vectors.float(), sae.W_dec.float()) if m <= 4096 else None
print(json.dumps({
    "tool": "saelens", "mode": mode, "dtype": dtype, "n": n, "m": m, "k": k, "steps": steps,
    "batch": batch, "seconds": secs, "samples_per_second": steps * batch / secs, "mcc": mcc,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "torch": torch.__version__, "threads": threads, "generator_seconds_per_batch": gen_seconds,
}))
