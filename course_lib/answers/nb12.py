"""Answer key for ``12_language_model_lora``.

The open exercises' solutions quote results measured with the notebook's own settings (SEED = 0; FAST =
False; COURSE_THREADS=1).  The prediction is about a claim that the notebook's lesson checks assert, which
holds at every one of the 20 seeds of `make bench`.
"""

from ..exercises import Key, choice, close_to

BAND = 0.03        # "about the same" in the prediction: within 0.03 nats per token


# --------------------------------------------------------------------------- the prediction (section 3)
def _p_answer(lora_source, gentle_source):
    gap = gentle_source - lora_source
    return "about the same" if abs(gap) <= BAND else "more" if gap > 0 else "less"


def _p_solution(lora_source, gentle_source):
    return (f"{_p_answer(lora_source, gentle_source).capitalize()}: at LoRA's final target loss the gentle full "
            f"fine-tune had a source loss of {gentle_source:.3f}, LoRA {lora_source:.3f} "
            f"({gentle_source - lora_source:+.3f} nats per token; 'about the same' is within {BAND}). LoRA's lead at "
            "the same rate (section 2) was not a gift of the low rank as such: the rank limits how fast and how far "
            "the model moves, and so does a lower rate. Full fine-tuning with a tenth of the rate reached the same "
            "target loss with less damage to the source text, at every seed of `make "
            "bench` (the lesson check asserts the safe side: LoRA is never more than 0.1 nats ahead; "
            "docs/BENCHMARKS.md has every seed). Biderman et al. (2024) found LoRA and full fine-tuning on about one "
            "learning-forgetting curve at 7B parameters; in this toy, full fine-tuning at a tenth of the rate does "
            "better than LoRA on that plane.")


# --------------------------------------------------------------------------- exercise 1
LORA_ALL_FOUR = 3 * 4 * (4 * 64 + 64 * 4)


# --------------------------------------------------------------------------- exercise 2
def _ratio(runs):
    full, lora = runs["full"]["bytes per task"], runs["LoRA"]["bytes per task"]
    return 50 * full / (full + 50 * lora)


def _ex2_solution(runs):
    full, lora = runs["full"]["bytes per task"], runs["LoRA"]["bytes per task"]
    return (f"answer = {_ratio(runs):.1f}: 50 full copies take 50 x {full:,} bytes; the base once plus 50 sets of "
            f"adapters take {full:,} + 50 x {lora:,} bytes. "
            "50 * runs['full']['bytes per task'] / (runs['full']['bytes per task'] + 50 * runs['LoRA']['bytes per "
            "task']). The ratio grows towards full / lora (about 54 here) as the number of tasks grows; for a "
            "7-billion-parameter model the adapters are megabytes and a full copy is 14 GB or more.")


# --------------------------------------------------------------------------- exercise 3
def _best_part(resets):
    return max(resets, key=lambda p: resets[p]["source loss regained"])


def _ex3_solution(resets):
    best = _best_part(resets)
    shown = ", ".join(f"{p} {v['source loss regained']:+.3f}" for p, v in resets.items())
    cost = resets[best]["target loss lost"]
    costliest = max(resets, key=lambda p: resets[p]["target loss lost"])
    return (f"answer = {best!r}: it regains the most source loss ({shown}), at a cost of {cost:+.3f} nats of target "
            f"loss ({'the largest cost too' if costliest == best else f'the largest cost is {costliest}'}). Each "
            "block regains far more of the forgetting than it undoes of the learning: what hurt the source text is "
            "more concentrated than what learned the dialect. The effects do not add up, so this shows what the "
            "model needs given its other parts, not where something is stored. Training less of the model from the "
            "start (LoRA, a lower rate, freezing a part) is the usual way to forget less.")


LORA_MORE_SOLUTION = """\
runs["LoRA x10"] = lm.adapt("lora", dialect, lr=LR * 10, steps=STEPS, seed=SEED, base=base, track=track,
                            log_every=25)
runs["LoRA qkvo"] = lm.adapt("lora", dialect, lr=LR, steps=STEPS, seed=SEED, base=base, track=track,
                             log_every=25, targets=("q", "k", "v", "o"))
for name in ("LoRA", "LoRA x10", "LoRA qkvo"):
    t, s = runs[name]["history"].extra["target"][-1], runs[name]["history"].extra["source"][-1]
    print(name, t, s, lm.source_loss_at(runs["full, gentle"]["history"], t),
          lm.source_loss_at(runs["full"]["history"], t))

Measured at SEED = 0 (150 steps, one thread), on the 300 tracked sentences of each file; the last two columns are
the source loss of a full fine-tune at the moment its target loss came down to the same value (read between its
start and its logged steps):

                   trainable   target loss   source loss   full, gentle (LR/10)   full (LR)
    LoRA (q, v)        3,072         2.634         2.243          2.129             2.364
    LoRA x10           3,072         2.132         2.839            nan             2.645
    LoRA q, k, v, o    6,144         2.311         2.471          2.310             2.437

More room lets LoRA learn more of the dialect, and it forgets more. At ten times the rate it learns almost as much as
full fine-tuning at LR did, and forgets more than full fine-tuning did at the same target loss (2.839 against
2.645); the gentle run never got that low in its 150 steps ("nan": no comparison). On all four projections it
forgets more than the gentle run at the same target loss (2.471 against 2.310) and about as much as full
fine-tuning at LR (2.437). Against full fine-tuning at LR, section 2's LoRA keeps a lead at the same target loss
(2.243 against 2.364), but read it with care: full fine-tuning at LR passes that target loss between its start and
its first log (step 25), where the straight line between two points is a coarse guess. Each rate traces its own
curve, and the gentle one lies below them all here. One seed and one budget: a pattern, not a law; the lesson is
the comparison itself, at the same amount learned."""

PROBE_FULL_SOLUTION = """\
print(lm.probe_layers(runs["full"]["model"], probes, "number"))
print(probe["number", "base"])
print(lm.agreement(runs["full"]["model"], seed=SEED), agreement)

Measured at SEED = 0, layer 0 (embeddings) to layer 3:
    fine-tuned  [0.488, 0.617, 0.764, 1.000]
    the base    [0.487, 0.606, 0.647, 1.000]
and the fine-tuned model still prefers the agreeing verb form on 100% of the source sentences of lm.agreement,
as the base does.

The subject's number is still fully readable at the top after the dialect fine-tune (a little more readable in the
middle block at this seed), and the model still agrees on source sentences: the dialect keeps agreement, so
fine-tuning had no reason to remove it. What it forgot of the source text is word order (it now expects the object
after the subject), not agreement. A probe says what is readable, not what the model uses; lm.agreement tests the
use. Forgetting is specific: measure which ability went, not only how much loss."""


KEYS = [
    Key("12.p", predict=True, needs=("lora_source", "gentle_source"),
        check=lambda lora_source, gentle_source: choice(_p_answer(lora_source, gentle_source),
                                                        ("more", "about the same", "less")),
        answer=_p_answer,
        hint="LoRA moved less than full fine-tuning at the same rate. Is that because its update is low-rank, or "
             "because it learned less? A full fine-tune that learns just as little answers it.",
        solution=_p_solution),
    Key("12.1",
        check=close_to(LORA_ALL_FOUR, tol=0.5),
        answer=LORA_ALL_FOUR,
        hint="A rank-4 update of a 64 x 64 weight is A (4 x 64) and B (64 x 4). Count them per projection, then "
             "per block.",
        solution=f"answer = {LORA_ALL_FOUR}: each projection's update is A (4 x 64) and B (64 x 4), 512 numbers; "
                 "four projections in each of three blocks: 3 x 4 x 512. Twice the 3,072 of queries and values: "
                 "lm.count(lm.prepare(lm.load_lm(), 'lora', targets=('q', 'k', 'v', 'o')))['trainable']."),
    Key("12.2", needs=("runs",),
        check=lambda runs: close_to(_ratio(runs), tol=0.5),
        answer=_ratio,
        hint="Fifty full copies against one base and fifty adapter files: bytes per task are in runs[name]['bytes "
             "per task'].",
        solution=_ex2_solution),
    Key("12.3", needs=("resets",),
        check=lambda resets: choice(_best_part(resets), tuple(resets)),
        answer=_best_part,
        hint="Each row of resets says what the target loses and the source regains when that part goes back to "
             "the base's weights.",
        solution=_ex3_solution),
    Key("12.4",
        hint="Add two runs with lm.adapt as in section 2 (the same steps, seed and track), then use "
             "lm.source_loss_at on the gentle run at each one's final target loss.",
        solution=LORA_MORE_SOLUTION),
    Key("12.5",
        hint="lm.probe_layers(model, probes, 'number') with the fine-tuned model; compare with probe['number', "
             "'base'].",
        solution=PROBE_FULL_SOLUTION),
]
