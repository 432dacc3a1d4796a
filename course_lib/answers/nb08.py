"""Answer key for ``08_strategies``.

The open exercises' solutions quote what they measured at SEED = 0 (seeds 0, 1, 2), FAST = False, with one torch
thread (COURSE_THREADS=1), on the notebook's own runs and settings.
"""

from ..exercises import Key, close_to, one_of

# the prediction's three answers, by how much of the base's source accuracy is lost
_LITTLE, _SOME, _MUCH = "little", "some", "much"


def _loss_band(lost):
    """The prediction's answer for a measured loss of source accuracy."""
    return _LITTLE if lost <= 0.05 else (_SOME if lost < 0.25 else _MUCH)


def _break_even(lora_size, full_size):
    """The smallest number of tasks n with n LoRA checkpoints storing more than one full model."""
    return full_size // lora_size + 1


KEYS = [
    Key("08.p",
        predict=True,
        needs=("lost",),
        check=lambda lost: one_of([_loss_band(lost)]),
        answer=lambda lost: _loss_band(lost),
        hint="Validation looked only at clinic B. The old head reads the source task from the backbone's features: "
             "what does the grid's top rate, ten times its lowest, do to the weights below the head?",
        solution=lambda lost: (
            f"Full fine-tuning at the grid's top rate lost {lost:.3f} of the base's source accuracy "
            f"(mean over the seeds), so the answer is {_loss_band(lost)!r}. Nothing on the target side warned: "
            "on clinic B that rate scored about as well as the lower ones, or better (section 4's table). The old "
            "head reads features the backbone no longer computes. The lesson check asserts a loss of 0.25 or more; "
            "it held at all 20 seed sets benchmarked (docs/BENCHMARKS.md). Section 4 shows how much of it a "
            "re-probe recovers, and that LoRA at the same nominal rate kept most of the source task.")),
    Key("08.1",
        check=close_to(2 * 4096 * 8 / 4096 ** 2, tol=0.0005),
        answer=2 * 4096 * 8 / 4096 ** 2,
        hint="Count A (rank x d) and B (d x rank), then divide by the d x d weights of the layer.",
        solution="A has 8 x 4096 numbers and B 4096 x 8, so the adapter has 2 x 4096 x 8 = 65,536; the layer has "
                 "4096 x 4096 = 16,777,216. The share is 2 x 8 / 4096 = 0.0039, about 0.4%: the share of a square "
                 "layer is 2 * rank / d, so the wider the layer, the smaller it gets (about 11% on the course's "
                 "tiny CNN at rank 4)."),
    Key("08.2",
        needs=("lora_size", "full_size"),
        check=lambda lora_size, full_size: close_to(_break_even(lora_size, full_size), tol=0),
        answer=lambda lora_size, full_size: _break_even(lora_size, full_size),
        hint="Find the smallest whole number of tasks n for which n x lora_size is larger than full_size.",
        solution=lambda lora_size, full_size: (
            f"full_size / lora_size = {full_size} / {lora_size} = {full_size / lora_size:.2f}, so "
            f"{_break_even(lora_size, full_size)} LoRA checkpoints are the first to take more room than one full "
            f"model:\n    full_size // lora_size + 1    # {_break_even(lora_size, full_size)}\n"
            "But full fine-tuning stores a whole model for every task, so against n full models LoRA is ahead from "
            "the first task on; and every LoRA task also needs the one shared base, stored once.")),
    Key("08.3",
        hint="Write a small function that loads a fresh base, calls recipes.lora_fine_tune with blocks=(...) and "
             "the notebook's rank, epochs (EPOCHS - HEAD_EPOCHS after the head phase), batch size, rate and seed, "
             "and returns the test accuracy and models.count_parameters(model)['trainable']. Run it on every seed "
             "in SEEDS, not one: single runs differ by a few points.",
        solution="""\
def lora_on(blocks, seed):
    seed_everything(seed)
    model = models.load_base("scans-s", n_classes=clinic_b.n_classes)
    recipes.lora_fine_tune(model, clinic_b.take_per_class(LABELS_PER_CLASS, seed=seed), curve_b, blocks=blocks,
                           rank=RANK, head_epochs=HEAD_EPOCHS, epochs=EPOCHS - HEAD_EPOCHS, lr=CHOSEN[LORA],
                           batch_size=BATCH_SIZE, seed=seed, progress=False)
    return train.evaluate(model, test_b).accuracy, models.count_parameters(model)["trainable"]

for blocks in (("block1",), ("block2",), ("block3",), models.BLOCKS):
    res = [lora_on(blocks, seed) for seed in SEEDS]
    print(blocks, [round(a, 3) for a, _ in res], "trainable", res[0][1])

Measured at SEED = 0 (seeds 0, 1, 2), LoRA's chosen rate 0.01, about 15 s for all four (test accuracy per seed):
  block1 alone   0.769 0.791 0.792 (mean 0.784)     425 trainable
  block2 alone   0.781 0.809 0.838 (mean 0.809)   1,029 trainable
  block3 alone   0.794 0.818 0.846 (mean 0.819)   1,733 trainable
  all three      0.802 0.823 0.874 (mean 0.833)   2,537 trainable  (the notebook's LoRA runs, same numbers)
  (feature extraction at its chosen rate: 0.759)
What to conclude: on these seeds block3 alone helped most (it beat block1 alone at each of the three seeds) and
got about four fifths of the way from the frozen baseline to adapters everywhere, with about two thirds of the
parameters. block1, where flipped brightness first enters, helped least. Read that with its confounds: at the same
rank the adapters are not the same size (100 numbers on block1 against 1,408 on block3), a rank-4 update of
block1's 16 x 9 kernel matrix (rank up to 9) cannot, for example, simply negate it, and LoRA leaves every bias
frozen. So this shows that a higher block can learn to read the inverted features, not that the first filters
do not matter. Three seeds and 900 test scans: a ranking of block3 over block1 at rank 4, not a precise size of
the gaps."""),
    Key("08.4",
        hint="forgetting.block_change(model) returns a dict per block; compare 'output_change' for FULL and LORA "
             "at the same rate, and average over the three seeds' models in runs[(n, r)], as section 4 did for "
             "'weight_change'.",
        solution="""\
for r in RATES[FULL]:
    for n in (FULL, LORA):
        changes = [forgetting.block_change(one.model) for one in runs[(n, r)]]
        print(f"{n} at {r:g}", {b: round(np.mean([c[b]["output_change"] for c in changes]), 3) for b in models.BLOCKS},
              "source kept", round(col(n, r, "source_accuracy").mean(), 3))

Measured at SEED = 0 (seeds 0, 1, 2), output change per block (block1, block2, block3), mean over the seeds:
  full fine-tuning at 0.001   0.031 0.196 0.231    source kept 0.934
  LoRA             at 0.001   0.022 0.130 0.153    source kept 0.944
  full fine-tuning at 0.003   0.036 0.274 0.314    source kept 0.899
  LoRA             at 0.003   0.048 0.208 0.196    source kept 0.930
  full fine-tuning at 0.01    0.139 0.491 0.606    source kept 0.401
  LoRA             at 0.01    0.075 0.280 0.279    source kept 0.888
What to conclude: at the same rate LoRA changed the outputs of block2 and block3 less than full fine-tuning did, at
every rate; in block1 not always (at 0.003 it changed more), as with the weight change. The pair that changed the
outputs by about as much is LoRA at 0.01 and full fine-tuning at 0.003 (0.28 against 0.27-0.31 in the upper
blocks), and they also kept about as much of the source task (0.888 and 0.899) and scored about alike on the target
(0.833 and 0.845). That is consistent with the reading of section 4, that how far a run changes its blocks sets
its place in the learning-forgetting picture more than which kind of update it used; it is one matched pair on
three seeds, so a hint, not a test of it."""),
    Key("08.5",
        hint="For each strategy, compute val_acc(n, r).mean() + col(n, r, 'source_accuracy').mean() for every r in "
             "RATES[n], and BASE_SOURCE - col(n, r, 'source_accuracy').mean() for the filter; then take the best "
             "rate by each rule.",
        solution="""\
for n in (FULL, LORA):
    score = {r: val_acc(n, r).mean() + col(n, r, "source_accuracy").mean() for r in RATES[n]}
    safe = [r for r in RATES[n] if BASE_SOURCE - col(n, r, "source_accuracy").mean() <= 0.02]
    print(n, {r: round(s, 3) for r, s in score.items()}, "best by the sum:", max(score, key=score.get),
          "| best of the runs losing at most 0.02:", max(safe, key=lambda r: val_acc(n, r).mean()) if safe else None)

Measured at SEED = 0 (seeds 0, 1, 2), validation + source accuracy, mean over the seeds:
  full fine-tuning   0.001: 1.728   0.003: 1.722   0.01: 1.267    -> 0.001
  LoRA               0.001: 1.721   0.003: 1.714   0.01: 1.704    -> 0.001
  losing at most 0.02 of the source task: no full fine-tuning run (0.001 loses 0.021), LoRA at 0.001 only.
What to conclude: with the source task in view the top rate, which validation alone chose, drops out for full
fine-tuning by a wide margin; below it the sum hardly separates the rates (differences under 0.01, less than the
seed-to-seed spread), and for LoRA all three rates are within 0.02. At its lowest rate full fine-tuning scored more
on the target than LoRA at its lowest (test 0.826 against 0.781) while keeping almost as much of the source task
(0.934 against 0.944). So once the rate is chosen with both tasks in view, LoRA's safety margin matters less: it
protects against a too-high rate, and this rule no longer picks one. A hard 0.02 filter is brittle: full
fine-tuning at 0.001 misses it by 0.001 (its seeds lose 0.016 to 0.024)."""),
    Key("08.6",
        hint="Call run(seed, n, 3e-2) for n in (FULL, LORA) and every seed in SEEDS; average "
             "one.history.val_acc[-1], one.accuracy and one.source_accuracy, and put them next to "
             "val_acc(n, 1e-2), col(n, 1e-2) and col(n, 1e-2, 'source_accuracy').",
        solution="""\
for n in (FULL, LORA):
    past = [run(seed, n, 3e-2) for seed in SEEDS]
    print(n, "3e-2: val", round(np.mean([one.history.val_acc[-1] for one in past]), 3),
          "test", round(np.mean([one.accuracy for one in past]), 3),
          "source", round(np.mean([one.source_accuracy for one in past]), 3),
          "| 1e-2: val", round(val_acc(n, 1e-2).mean(), 3), "test", round(col(n, 1e-2).mean(), 3),
          "source", round(col(n, 1e-2, "source_accuracy").mean(), 3))

Measured at SEED = 0 (seeds 0, 1, 2), about 15 s, mean over the seeds (per seed in brackets):
  full fine-tuning  3e-2: val 0.733 (0.66..0.79), test 0.723, source 0.101
                    1e-2: val 0.867,              test 0.864, source 0.401
  LoRA              3e-2: val 0.800 (0.77..0.84), test 0.826, source 0.708 (0.518..0.865)
                    1e-2: val 0.817,              test 0.833, source 0.888
What to conclude: neither validation score still rises. Full fine-tuning breaks on the target too (0.13 lower) and
its source task, read with the old head, falls to 0.10, the chance level of ten source classes: the old head reads
nothing from these features any more (how much of the knowledge is really gone would take a re-probe, as in
section 4; this solution did not run one). So full fine-tuning's best rate lies below 3e-2, and the grid's edge
was a sensible place to stop. LoRA's validation score is about level (0.017 lower, within
the standard error of 100 scans), its target score too, but its source task drops by 0.18 on average and varies a
lot between seeds. Extending the grid was the right check to make, and it says: stop at 1e-2."""),
]
