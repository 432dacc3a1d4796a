"""Answer key for ``02_too_high_learning_rate``."""

from ..exercises import Key, choice, close_to
from ..notebook import scores
from ..recipes import LR_SCRATCH

BROKEN = "fine-tune at LR_SCRATCH"
FROZEN = "frozen baseline"
TARGET_CHOICES = ("above", "not above")


def target_category(gap, margin=0.01):
    """Fine-tuned minus frozen target accuracy, in words (0.01 is the lesson check's margin)."""
    return "above" if gap > margin else "not above"


def _gap(runs):
    return float(scores(runs[BROKEN], "target").mean() - scores(runs[FROZEN], "target").mean())



def _p_solution(runs):
    broken, frozen = scores(runs[BROKEN], "target").mean(), scores(runs[FROZEN], "target").mean()
    return (f"Fine-tuning every layer at LR_SCRATCH scored {broken:.3f} on the target against {frozen:.3f} for the "
            f"frozen baseline (means over the notebook's seeds, gap {broken - frozen:+.3f}): \"{target_category(broken - frozen)}\". "
            "It was free to change every weight and fit its 25 training scans perfectly, yet it did not beat a "
            "head trained on frozen features: the high rate moved features that were already good, and five labels "
            "per class were not enough to move them somewhere better. Over the 20 seed sets of `make bench` the "
            "gap was at most -0.011, always below the 0.01 margin.")


def _steps_solution(steps):
    bound = LR_SCRATCH * steps
    return (f"LR_SCRATCH x STEPS = {LR_SCRATCH:g} x {steps} = {bound:.2f}: Adam moves each weight by at most about the "
            "learning rate per step, whatever the gradient's size. Compare it with section 3's table (SEED = 0, "
            "seeds 0, 1, 2): the typical weight change was 0.03 to 0.04 in every block, less than a tenth of "
            "the bound: with noisy mini-batch gradients Adam's step is usually well below the rate (its running mean "
            "of gradients is small next to their running size), and successive steps do not all point the same "
            "way. The bound is the same for every block, "
            "and so was the movement; what differed was the weight size (0.548 for block1, about 0.2 for "
            "block2 and block3), so the same movement is a smaller fraction of block1's weights, and block1's "
            "output changed least.")


KEYS = [
    Key("02.p",
        predict=True,
        needs=("runs",),
        check=lambda runs: choice(target_category(_gap(runs)), TARGET_CHOICES),
        answer=lambda runs: target_category(_gap(runs)),
        hint="The fine-tuned run can change every weight, the frozen one only the head. Ask whether more freedom "
             "helps when there are five labels per class and the step size is the one for random weights.",
        solution=_p_solution),
    Key("02.1",
        needs=("steps",),
        check=lambda steps: close_to(LR_SCRATCH * steps, tol=0.05 * LR_SCRATCH * steps),
        answer=lambda steps: LR_SCRATCH * steps,
        hint="Under Adam a step moves a weight by about the learning rate at most. The budget line printed at the "
             "top says how many steps a run takes.",
        solution=_steps_solution),
    Key("02.2",
        check=close_to(LR_SCRATCH / 2.6 ** 3, tol=2e-6),
        answer=LR_SCRATCH / 2.6 ** 3,
        hint="Count the blocks between block1 and the head: each one down divides the rate once more.",
        solution=f"LR_SCRATCH / 2.6**3 = {LR_SCRATCH / 2.6 ** 3:.2e}, about seventeen times less than the head's rate "
                 "(block3 gets LR_SCRATCH / 2.6, block2 / 2.6**2, block1 / 2.6**3). Check it:\n"
                 "    [(g['name'], g['lr']) for g in models.param_groups(models.load_base('scans-s', 5), LR_SCRATCH)]"),
    Key("02.3",
        hint="Give the two slow recipes three times the epochs and put their target scores next to the frozen "
             "baseline of the same seeds; then change only the head's rate in the fast-head recipe.",
        solution=(
            "The code (one seed, about 5 s; the measurement below repeats it for each seed):\n"
            "    for name, warmup in (('10x smaller rate, 3x epochs', 0), ('small rate + warm-up, 3x epochs', 3 * WARMUP_EPOCHS)):\n"
            "        slow = run(name, lambda model, data, **kw: train.fit(model, data, epochs=3 * EPOCHS, lr=LR_FINETUNE,\n"
            "                                                             warmup_epochs=warmup, **kw), SEED)\n"
            "        print(name, slow['target'], slow['source'], slow['hist'].train_acc[-1])\n"
            "    head_at_scratch = lambda model: [{'params': list(model.head.parameters()), 'lr': LR_SCRATCH},\n"
            "                                     {'params': list(model.backbone.parameters()), 'lr': LR_FINETUNE}]\n"
            "    r = run('head at LR_SCRATCH', lambda model, data, **kw: train.fit(model, data, epochs=EPOCHS, lr=LR_FINETUNE,\n"
            "            param_groups=head_at_scratch(model), **kw), SEED)\n"
            "    print(r['target'], r['source'])\n"
            "\n"
            "What it measured (SEED = 0, seeds 0, 1, 2; target minus the frozen baseline of the same seed, mean (min..max)):\n"
            "    10x smaller rate,      160 steps  -0.152 (-0.173..-0.123)   480 steps  -0.065 (-0.083..-0.042)\n"
            "    small rate + warm-up,  160 steps  -0.189 (-0.218..-0.143)   480 steps  -0.072 (-0.092..-0.043)\n"
            "    fast head (LR_HEAD) on a slow backbone, 160 steps            -0.003 (-0.008..+0.000)\n"
            "    head at LR_SCRATCH on a slow backbone, 160 steps             -0.018 (-0.020..-0.014)\n"
            "With three times the steps both slow recipes fit their training scans (1.00) and close more than half the "
            "gap, but stay below the frozen baseline in every seed, and they forget more of the source as they "
            "train longer (source 0.859 -> 0.792 and 0.880 -> 0.805).\n"
            "\n"
            "What to conclude: the small rate is partly just slow (more steps help a lot), but 3x the budget is not "
            "enough to catch the frozen baseline here, and the extra steps cost source accuracy. With 480 steps the "
            "slow recipes fit their training scans, so what keeps them below is no longer a starved head alone. "
            "By construction the fast-head recipe differs from the 10x smaller rate only in the head's rate; the "
            "measurement adds that the head need not be as fast as LR_HEAD: a head ten times faster than the "
            "backbone (LR_SCRATCH) already recovers +0.134 of the +0.149 that LR_HEAD (33 times faster) gives. "
            "Three seeds and one longer budget: whether a much longer schedule catches up is not measured.")),
    Key("02.4",
        hint="Keep everything else as it is: only the labels per class change, so the number of steps per run "
             "grows too. Compare the target gap to the frozen baseline and the source column with section 2.",
        solution=(
            "The code (about 15 s; only the two runs that decide the question, not all of sections 2 and 4):\n"
            "    LABELS_PER_CLASS = 20                      # run() reads it\n"
            "    more = {name: [run(name, recipe, s) for s in SEEDS]\n"
            "            for name, recipe in (('frozen baseline', frozen), (broken, too_high))}\n"
            "    for name, rs in more.items():\n"
            "        print(name, mean_range([r['target'] for r in rs]), mean_range([r['source'] for r in rs]))\n"
            "    LABELS_PER_CLASS = 5                       # back to the notebook's setting\n"
            "\n"
            "What it measured (SEED = 0, seeds 0, 1, 2; 20 labels per class, 80 epochs, so 560 steps):\n"
            "    frozen baseline           target 0.898 (0.890..0.908)   source 0.955\n"
            "    fine-tune at LR_SCRATCH   target 0.889 (0.880..0.894)   source 0.730 (0.698..0.779)\n"
            "The fine-tuned run's target minus the frozen one, per seed: +0.004, -0.028, -0.004 (at 5 labels: "
            "-0.052..-0.058). It still forgets 0.225 of the source (0.311 at 5 labels).\n"
            "\n"
            "What to conclude: with 20 labels per class the target score no longer shows the problem clearly (one "
            "seed even lands above the frozen baseline), while the base still loses most of what it lost at 5 "
            "labels of its source task. The target score alone cannot be trusted to reveal forgetting: score the "
            "source task too (forgetting.track_source) whenever the base must keep its old job. Three seeds; "
            "whether fine-tuning at LR_SCRATCH would pull ahead with more labels is not measured here.")),
    Key("02.5",
        hint="Compare the weight change and the output change per block with the broken run's table in section 3.",
        solution=(
            "The code:\n"
            "    for name in ('probe, then fine-tune', 'fast head, slow backbone', broken):\n"
            "        ch = [forgetting.block_change(r['model']) for r in runs[name]]\n"
            "        print(name, {b: (round(np.mean([c[b]['weight_change'] for c in ch]), 4),\n"
            "                         round(np.mean([c[b]['output_change'] for c in ch]), 3)) for b in blocks})\n"
            "\n"
            "What it measured (SEED = 0, seeds 0, 1, 2; mean weight change / mean output change per block):\n"
            "    fine-tune at LR_SCRATCH    block1 0.0366 / 0.086   block2 0.0296 / 0.313   block3 0.0352 / 0.522\n"
            "    fast head, slow backbone   block1 0.0060 / 0.017   block2 0.0040 / 0.049   block3 0.0039 / 0.059\n"
            "    probe, then fine-tune      block1 0.0007 / 0.002   block2 0.0013 / 0.018   block3 0.0030 / 0.050\n"
            "(and, for comparison, 10x smaller rate: 0.0148 / 0.038, 0.0121 / 0.151, 0.0135 / 0.244).\n"
            "\n"
            "What to conclude: both remedies moved the weights 6 to 50 times less than the broken run, and the "
            "upper blocks' output changed a sixth to a seventeenth as much; LP-FT, whose lower blocks learn slowest, "
            "whose head is already trained when they start and whose backbone trains for half the steps, moved "
            "block1 least of all. The 10x smaller rate, with the same backbone rate as the fast head, moved every "
            "block 2.5 to 3.5 times more than the fast head did: consistent with a slow, still-wrong head pushing "
            "the backbone for longer (section 5's 'presumably'; this comparison does not prove the mechanism). "
            "As in section 3, the upper blocks' outputs change most in every run, so that is where a remedy has "
            "to protect the base.")),
]
