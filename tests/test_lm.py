"""The tiny language model of notebook 12 (course_lib.lm): strategies, the loop's guarantees, forgetting, probes.

Every run here is a few steps on a few sentences (the whole file takes seconds); the claims are the ones the
notebook rests on: what each strategy trains, that LoRA starts as the base, that an interrupt or a non-finite
loss leaves the model and its history describing the same step, and that the base's numbers are its card's.
"""

import copy
import math
import re
import time

import numpy as np
import pytest
import torch

from course_lib import data, lm, text
from course_lib.lora import LoRALayer

VOCAB = len(text.VOCAB)


@pytest.fixture(scope="module")
def base():
    return lm.load_lm()


@pytest.fixture(scope="module")
def dialect():
    return text.load("dialect")


@pytest.fixture(scope="module")
def small():
    """300 held-out sentences of each file: enough to see a loss move, quick to score."""
    return {"target": text.load("dialect_test").tokens[:300], "source": text.load("source_test").tokens[:300]}


@pytest.fixture(scope="module")
def tuned(base, dialect):
    """A quick full fine-tune on the dialect (20 steps of 16 sentences)."""
    model = lm.prepare(copy.deepcopy(base), "full")
    lm.fit_lm(model, dialect, steps=20, lr=1e-3, batch_size=16, seed=0, log_every=10)
    return model


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def equals_snapshot(model, snap):
    state = model.state_dict()
    return state.keys() == snap.keys() and all(torch.equal(state[k], snap[k]) for k in snap)


# --------------------------------------------------------------------------- the base
def test_the_base_is_its_model_card(base):
    card = data.read_manifest()["language_bases"]["tiny-lm"]
    assert round(lm.text_loss(base, text.load("source_test")), 4) == card["source_loss"]
    assert lm.count(base)["total"] == card["parameters"]
    assert round(lm.agreement(base), 4) == card["agreement"]
    assert lm.BASE_FILE in data.read_manifest()["files"] and lm.BASE_FILE in data.expected_files()


def test_agreement_of_the_base_and_of_a_random_model(base):
    assert lm.agreement(base) == 1.0
    assert lm.agreement(base, modifier="clause", seed=1) == 1.0
    for seed in (0, 1):
        assert 0.38 < lm.agreement(lm.build_lm(seed)) < 0.62            # chance: two verb forms


def test_text_loss_scores_real_tokens_only(base, small):
    x = small["source"]
    whole = lm.text_loss(base, x)
    assert lm.text_loss(base, x, batch_size=7) == pytest.approx(whole, rel=1e-5)
    # one sentence: the mean over its words of -log p(next word), computed here by hand
    row = torch.as_tensor(x[:1])
    n = int((row != 0).sum())
    with torch.no_grad():
        logp = torch.log_softmax(base(row[:, :n - 1]), -1)[0]
    by_hand = -float(sum(logp[i, row[0, i + 1]] for i in range(n - 1))) / (n - 1)
    assert lm.text_loss(base, x[:1]) == pytest.approx(by_hand, rel=1e-5)
    assert lm.text_loss(lm.build_lm(0), x) == pytest.approx(math.log(VOCAB), abs=0.5)   # a random model: ~uniform


def test_save_and_load_round_trip(base, tmp_path):
    lm.save_lm(base, tmp_path / "copy.npz")
    with np.load(tmp_path / "copy.npz", allow_pickle=False) as f:
        assert set(f.files) == set(base.state_dict())
        assert all(np.array_equal(f[k], v.numpy()) for k, v in base.state_dict().items())


def test_load_lm_refuses_an_unknown_base():
    with pytest.raises(ValueError, match="tiny-lm"):
        lm.load_lm("gpt-2")


# --------------------------------------------------------------------------- prepare
def test_full_trains_everything(base):
    model = lm.prepare(copy.deepcopy(base), "full")
    counts = lm.count(model)
    assert counts["trainable"] == counts["total"] == lm.count(base)["total"]
    assert counts["bytes per task"] == 4 * counts["total"]
    assert all(p.requires_grad for p in model.parameters())
    assert same_weights(model, base)


def test_lora_on_q_and_v_trains_3072_numbers_and_starts_as_the_base(base, small):
    model = lm.prepare(copy.deepcopy(base), "lora", rank=4, targets=("q", "v"))
    counts = lm.count(model)
    assert counts["trainable"] == 3072 == lm.N_LAYERS * 2 * (4 * lm.D_MODEL + lm.D_MODEL * 4)
    assert counts["total"] == lm.count(base)["total"] + 3072
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"blocks.{i}.{t}.{ab}" for i in range(lm.N_LAYERS) for t in "qv" for ab in "AB"}
    assert sorted(lm.lora_layers_in(model)) == [f"blocks.{i}.{t}" for i in range(lm.N_LAYERS) for t in "qv"]
    assert all(isinstance(b.k, torch.nn.Linear) and isinstance(b.q, LoRALayer) for b in model.blocks)
    x = torch.as_tensor(small["source"][:50])
    with torch.no_grad():
        assert torch.equal(model(x), base(x))                        # B starts at zero: exactly the base
    four = lm.prepare(copy.deepcopy(base), "lora", targets=("q", "k", "v", "o"), rank=2)
    assert lm.count(four)["trainable"] == lm.N_LAYERS * 4 * (2 * 64 + 64 * 2)
    assert lm.count(lm.prepare(copy.deepcopy(base), "lora", targets="o"))["trainable"] == 1536


def test_a_new_head_trains_64_x_vocab_and_changes_the_outputs(base, small):
    model = lm.prepare(copy.deepcopy(base), "new head")
    assert lm.count(model)["trainable"] == 64 * VOCAB == model.head.weight.numel()
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {"head.weight"}
    x = torch.as_tensor(small["source"][:50])
    with torch.no_grad():
        assert not torch.allclose(model(x), base(x), atol=1e-3)
        assert all(torch.equal(a, b) for a, b in zip(model.states(x), base.states(x)))   # the body is the base's
    again = lm.prepare(copy.deepcopy(base), "new head", seed=0)
    assert torch.equal(again.head.weight, model.head.weight)                    # seeded
    assert not torch.equal(lm.prepare(copy.deepcopy(base), "new head", seed=1).head.weight, model.head.weight)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(strategy="adapters"), ValueError, "strategy.*lora"),
    (dict(strategy="lora", targets=()), ValueError, "targets is empty.*q, k, v, o"),
    (dict(strategy="lora", targets=("q", "x")), ValueError, "target.*'x'"),
    (dict(strategy="lora", targets=("query",)), ValueError, "target"),
    (dict(strategy="lora", rank=0), ValueError, "rank"),
])
def test_prepare_refuses_bad_strategies_and_targets(base, kwargs, error, match):
    with pytest.raises(error, match=match):
        lm.prepare(copy.deepcopy(base), **kwargs)


def test_prepare_refuses_what_is_not_a_language_model():
    with pytest.raises(TypeError, match="lm.load_lm"):
        lm.prepare(torch.nn.Linear(4, 4), "full")


def test_a_refused_prepare_leaves_the_model_as_it_was(base):
    model = copy.deepcopy(base)
    with pytest.raises(ValueError):
        lm.prepare(model, "lora", targets=("x",))
    assert all(p.requires_grad for p in model.parameters())
    assert not lm.lora_layers_in(model)


# --------------------------------------------------------------------------- fit_lm
def test_fit_lm_refuses_a_frozen_model(base, dialect):
    model = copy.deepcopy(base)
    for p in model.parameters():
        p.requires_grad = False
    with pytest.raises(ValueError, match=r"frozen.*lm\.prepare\(model, strategy\)"):
        lm.fit_lm(model, dialect, steps=2, lr=1e-3)


@pytest.mark.parametrize("bad, error, match", [
    (lambda t: t.astype(np.float32), ValueError, r"token ids shaped \(sentences, 16\).*float32"),
    (lambda t: t[:, :10], ValueError, "rows hold 10 tokens.*rows of 16.*text.encode"),
    (lambda t: t[0], ValueError, r"token ids shaped \(sentences, 16\)"),
    (lambda t: np.where(t == 3, VOCAB + 5, t), ValueError, r"ids in 0\.\.104 \(text\.VOCAB\)"),
    (lambda t: np.where(t == 3, -1, t), ValueError, r"ids in 0\.\.104"),
    (lambda t: t[:0], ValueError, "non-empty"),
    (lambda t: [["the", "cat", "runs", "."]], TypeError, r"words; encode them first: text\.encode"),
])
def test_fit_lm_refuses_bad_tokens_with_learners_messages(base, dialect, bad, error, match):
    model = lm.prepare(copy.deepcopy(base), "lora")
    before = snapshot(model)
    with pytest.raises(error, match=match):
        lm.fit_lm(model, bad(dialect.tokens[:64]), steps=2, lr=1e-3)
    assert equals_snapshot(model, before)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"), (dict(lr=-1e-3), "lr"), (dict(batch_size=0), "batch_size"),
    (dict(log_every=0), "log_every"), (dict(seed=1.5), "seed"),
])
def test_fit_lm_refuses_bad_settings(base, dialect, kwargs, match):
    settings = {**dict(steps=2, lr=1e-3), **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        lm.fit_lm(lm.prepare(copy.deepcopy(base), "lora"), dialect, **settings)


def run(base, dialect, strategy="full", seed=0, steps=6, **kw):
    model = lm.prepare(copy.deepcopy(base), strategy)
    hist = lm.fit_lm(model, dialect.tokens[:200], steps=steps, lr=1e-3, batch_size=8, seed=seed, log_every=3, **kw)
    return model, hist


def test_fit_lm_is_deterministic_per_seed(base, dialect):
    (a, ha), (b, hb), (c, hc) = run(base, dialect), run(base, dialect), run(base, dialect, seed=1)
    assert ha.step == [3, 6] and len(ha.train_loss) == 2
    assert ha.train_loss == hb.train_loss and same_weights(a, b)
    assert ha.train_loss != hc.train_loss and not same_weights(a, c)
    assert not same_weights(a, base)                           # it trained
    assert not (ha.interrupted or ha.diverged) and not a.training


def test_fit_lm_trains_only_what_prepare_left_trainable(base, dialect):
    model, _ = run(base, dialect, strategy="lora")
    state, ref = model.state_dict(), base.state_dict()
    for name, value in state.items():
        if name.endswith((".A", ".B")):
            continue
        assert torch.equal(value, ref[name.replace(".base.", ".")]), name
    assert any(not torch.equal(layer.B, torch.zeros_like(layer.B)) for layer in lm.lora_layers_in(model).values())


def test_tracking_records_one_value_per_logged_step(base, dialect, small):
    model, hist = run(base, dialect, steps=7, track={"target": lambda m: lm.text_loss(m, small["target"][:50])})
    assert hist.step == [3, 6, 7] and len(hist.extra["target"]) == 3
    assert hist.extra["target"][-1] == pytest.approx(lm.text_loss(model, small["target"][:50]), rel=1e-6)


class Trip:
    """A tracked quantity that records the model's weights at each call and raises KeyboardInterrupt at call ``at``."""

    def __init__(self, at):
        self.at, self.calls, self.seen = at, 0, []

    def __call__(self, model):
        self.calls += 1
        self.seen.append(snapshot(model))
        if self.calls == self.at:
            raise KeyboardInterrupt
        return float(self.calls)


def check_in_step(model, hist, seen, printed, log_every=3):
    """The history ends at a logged step, every series has one entry per step, and the model is that step's."""
    assert hist.interrupted and not hist.diverged
    n = len(hist.step)
    assert len(hist.train_loss) == n and all(len(v) == n for v in hist.extra.values()), (hist.step, hist.extra)
    assert hist.step == [log_every * (i + 1) for i in range(n)]
    if n:                                  # seen[0] is the tracked start, before the first step
        assert equals_snapshot(model, seen[n])
    counts = [int(k) for k in re.findall(r"step (\d+)", printed)]
    assert counts and counts[-1] == (hist.step[-1] if n else 0), printed


@pytest.mark.parametrize("at", [1, 2])
def test_an_interrupt_in_a_tracked_callback_keeps_model_and_history_in_step(base, dialect, capsys, at):
    trip = Trip(at)
    model, hist = run(base, dialect, steps=9, track={"trip": trip})
    check_in_step(model, hist, trip.seen, capsys.readouterr().out)


def test_an_interrupt_in_the_second_callback_keeps_every_series_in_step(base, dialect, capsys):
    trip, calls = Trip(2), []
    first = lambda m: calls.append(snapshot(m)) or float(len(calls))
    model, hist = run(base, dialect, steps=9, track={"first": first, "trip": trip})
    check_in_step(model, hist, trip.seen, capsys.readouterr().out)


def test_an_interrupt_inside_a_step_keeps_the_last_logged_step(base, dialect, capsys, monkeypatch):
    seen, real, calls = [], lm._loss, []

    def loss(model, x):
        calls.append(1)
        if len(calls) == 5:                     # step 5, between the logs of steps 3 and 6
            raise KeyboardInterrupt
        return real(model, x)

    monkeypatch.setattr(lm, "_loss", loss)
    model, hist = run(base, dialect, steps=9, track={"seen": lambda m: seen.append(snapshot(m)) or 0.0})
    assert hist.step == [3]
    check_in_step(model, hist, seen, capsys.readouterr().out)


def test_a_non_finite_loss_warns_rolls_back_and_says_diverged(base, dialect, monkeypatch):
    seen, real, calls = [], lm._loss, []

    def loss(model, x):
        calls.append(1)
        value = real(model, x)
        return value * float("nan") if len(calls) == 8 else value

    monkeypatch.setattr(lm, "_loss", loss)
    with pytest.warns(RuntimeWarning, match=r"loss became nan at step 8 with lr=0\.001.*weights of step 6.*ten times"):
        model, hist = run(base, dialect, steps=12, track={"seen": lambda m: seen.append(snapshot(m)) or 0.0})
    assert hist.diverged and not hist.interrupted
    assert hist.step == [3, 6] and len(hist.train_loss) == len(hist.extra["seen"]) == 2
    assert equals_snapshot(model, seen[-1])
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_non_finite_loss_before_the_first_log_restores_the_start(base, dialect, monkeypatch):
    real, calls = lm._loss, []
    monkeypatch.setattr(lm, "_loss", lambda m, x: calls.append(1) or (real(m, x) * (math.inf if len(calls) == 2 else 1)))
    with pytest.warns(RuntimeWarning, match="weights of step 0"):
        model, hist = run(base, dialect)
    assert hist.diverged and hist.step == [] and same_weights(model, base)


# --------------------------------------------------------------------------- adapt and forgetting
def test_a_quick_fine_tune_learns_the_dialect_and_forgets_the_source(base, tuned, small):
    assert lm.text_loss(tuned, small["target"]) < lm.text_loss(base, small["target"]) - 0.5
    assert lm.text_loss(tuned, small["source"]) > lm.text_loss(base, small["source"]) + 0.1


def test_adapt_copies_the_base_and_reports_its_counts(base, dialect):
    before = snapshot(base)
    out = lm.adapt("lora", dialect, lr=1e-3, steps=4, seed=0, base=base, batch_size=8, log_every=2)
    assert equals_snapshot(base, before)                      # the base is copied, never trained
    assert out["trainable"] == 3072 and out["bytes per task"] == 4 * 3072 and out["history"].step == [2, 4]
    assert out["seconds"] == out["history"].seconds > 0 and out["history"].label == "lora 0.001"
    with pytest.raises(ValueError, match="strategy"):
        lm.adapt("freeze", dialect, lr=1e-3, steps=4, base=base)


# --------------------------------------------------------------------------- source_loss_at
def tracked(target, source):
    return lm.LMHistory(step=list(range(1, len(target) + 1)), train_loss=list(target),
                        extra={"target": list(target), "source": list(source)})


def test_source_loss_at_interpolates_between_logged_steps():
    h = tracked([3.0, 2.0, 1.0], [2.0, 2.5, 3.5])
    assert lm.source_loss_at(h, 1.5) == pytest.approx(3.0)
    assert lm.source_loss_at(h, 1.25) == pytest.approx(3.25)
    assert lm.source_loss_at(h, 2.0) == pytest.approx(2.5)
    assert lm.source_loss_at(h, 2.8) == pytest.approx(2.1)
    assert lm.source_loss_at(h, 1.0) == pytest.approx(3.5)
    assert lm.source_loss_at(h, 3.5) == pytest.approx(2.0)               # already there at the first log
    assert math.isnan(lm.source_loss_at(h, 0.9))                         # never that low


def test_source_loss_at_takes_the_first_time_the_target_is_reached():
    h = tracked([1.0, 2.0, 0.5], [2.1, 2.2, 2.3])
    assert lm.source_loss_at(h, 1.5) == pytest.approx(2.1)


@pytest.mark.parametrize("history", [lm.LMHistory(), {"target": [1.0], "source": [2.0]},
                                     lm.LMHistory(extra={"target": [1.0]})])
def test_source_loss_at_refuses_an_untracked_history(history):
    with pytest.raises(ValueError, match=r"track=\{'target': \.\.\., 'source': \.\.\.\}"):
        lm.source_loss_at(history, 1.0)


# --------------------------------------------------------------------------- reset_part
PARTS = ("embeddings", 1, 2, 3, "head")


def test_resetting_every_part_restores_the_base_exactly(base, tuned):
    assert not same_weights(tuned, base)
    before = snapshot(tuned)
    model = tuned
    for part in PARTS:
        model = lm.reset_part(model, base, part)
    assert same_weights(model, base)
    assert equals_snapshot(tuned, before)                      # reset_part returns a copy


@pytest.mark.parametrize("part", PARTS)
def test_reset_part_puts_back_that_part_only(base, tuned, part):
    out = lm.reset_part(tuned, base, part)
    prefixes = {"embeddings": ("tok.", "pos."), "head": ("ln_f.", "head.")}.get(part) or (f"blocks.{part - 1}.",)
    ref, ft = base.state_dict(), tuned.state_dict()
    for name, value in out.state_dict().items():
        assert torch.equal(value, ref[name] if name.startswith(prefixes) else ft[name]), name
    assert any(not torch.equal(ref[n], ft[n]) for n in ref if n.startswith(prefixes))   # the part had changed


@pytest.mark.parametrize("part", [0, 4, "block 2", "1", "layer", None])
def test_reset_part_refuses_a_part_that_does_not_exist(base, tuned, part):
    with pytest.raises(ValueError, match=r"part must be one of embeddings, 1, 2, 3, head"):
        lm.reset_part(tuned, base, part)


def test_reset_part_refuses_a_lora_model(base):
    with pytest.raises(ValueError, match="LoRA adapters"):
        lm.reset_part(lm.prepare(copy.deepcopy(base), "lora"), base, 1)
    with pytest.raises(TypeError, match="language model"):
        lm.reset_part(base, torch.nn.Linear(2, 2), 1)


# --------------------------------------------------------------------------- which layers carry what


@pytest.fixture(scope="module")
def probes():
    return lm.probe_set(200, seed=0)


def test_the_probe_set_reads_just_before_the_main_verb(probes):
    assert len(probes.tokens) == len(probes.positions) == len(probes.number) == 200
    animals = {w for pair in text.ANIMALS for w in pair}
    for row, pos, number, animal, subject in zip(probes.tokens, probes.positions, probes.number, probes.animal,
                                                 probes.subject):
        words = text.decode(row).split()
        assert words[pos] in text.VERBS and words[pos - 1] in {w for pair in text.NOUNS for w in pair}
        assert subject in words[:3] and animal == (subject in animals)
        assert number == int(subject in {p for _, p in text.NOUNS})
    assert 60 < probes.number.sum() < 140 and 60 < probes.animal.sum() < 140


def test_the_base_carries_number_at_the_top_and_a_random_model_does_not(base, probes):
    trained, control = lm.probe_layers(base, probes, "number"), lm.probe_layers(lm.build_lm(0), probes, "number")
    assert len(trained) == len(control) == lm.N_LAYERS + 1
    assert trained[-1] > 0.9 and trained[0] < 0.65 and max(control) < 0.65


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(prop="tense"), ValueError, "property.*number.*animal"),
    (dict(prop="number", folds=0), ValueError, "folds"),
])
def test_probe_layers_refuses_bad_properties(base, probes, kwargs, error, match):
    with pytest.raises(error, match=match):
        lm.probe_layers(base, probes, **kwargs)


@pytest.mark.parametrize("bad", [text.load("source_test"), np.zeros((10, 16), dtype=np.int64), "probes"])
def test_probe_layers_refuses_what_is_not_a_probe_set(base, bad):
    with pytest.raises(TypeError, match=r"ProbeSet from lm\.probe_set\(n, seed\)"):
        lm.probe_layers(base, bad)


def test_layer_states_are_the_stream_at_the_read_positions(base, probes):
    states = lm.layer_states(base, probes)
    assert len(states) == lm.N_LAYERS + 1 and all(s.shape == (200, lm.D_MODEL) for s in states)
    with torch.no_grad():
        full = base.states(torch.as_tensor(probes.tokens[:3]))
    for layer in (0, lm.N_LAYERS):
        for i in range(3):
            assert np.allclose(states[layer][i], full[layer][i, probes.positions[i]].numpy(), atol=1e-6)


def test_source_loss_at_interpolates_from_the_tracked_start():
    """A run already past the target at its first log is read between its start and that log, not at the log."""
    hist = lm.LMHistory(step=[25, 50], train_loss=[1.0, 1.0], extra={"target": [2.0, 1.8], "source": [2.5, 2.9]},
                        start={"target": 4.0, "source": 2.0})
    assert lm.source_loss_at(hist, 3.0) == pytest.approx(2.25)
    assert lm.source_loss_at(hist, 1.9) == pytest.approx(2.7)
    hist.start = {}
    assert lm.source_loss_at(hist, 3.0) == pytest.approx(2.5)     # without a start: the first log is the best it has


def test_fit_lm_records_the_start_and_leaves_tracking_out_of_its_seconds(base, dialect, small):
    slow = {"target": lambda m: (time.sleep(0.2), lm.text_loss(m, small["target"][:20]))[1]}
    model, hist = run(base, dialect, steps=3, track=slow)
    assert set(hist.start) == {"target"} and hist.start["target"] == pytest.approx(lm.text_loss(base, small["target"][:20]))
    assert hist.seconds < 0.2          # two tracked calls slept 0.4 s in all
