"""Answer key for ``00_welcome_first_transfer``."""

from ..exercises import Key, close_to, one_of

KEYS = [
    Key("00.1",
        check=close_to(64 * 5 + 5, tol=0),
        answer=64 * 5 + 5,
        hint="A linear layer from 64 inputs to 5 outputs has a 64 x 5 weight matrix plus 5 biases.",
        solution="64 * 5 + 5 = 325. Check it on the model itself:\n"
                 "    model = models.freeze(models.load_base('scans-s', 5), 'backbone')\n"
                 "    models.count_parameters(model)['trainable']    # 325"),
    Key("00.2",
        check=one_of(["scans-s"]),
        answer="scans-s",
        hint="Ask what each base was pretrained on, and what the clinic's images look like.",
        solution='"scans-s": its source images share the clinic\'s low-level statistics (thin marks on grainy '
                 "film); a better score on everyday photos says little about scans. Notebook 04 measures it."),
    Key("00.3",
        hint="Train the scratch model four times longer and compare with the transfer runs at 20 labels.",
        solution="(to be measured)"),
]
