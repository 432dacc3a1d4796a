"""The answer key: hints, checks and worked solutions for every notebook's exercises.

One module per notebook (``nb06.py`` for ``06_tiny_dataset_overfitting``), each
a list ``KEYS`` of ``exercises.Key``, keyed by id ("06.2").  The notebooks call
``exercises.exercise("06.2")`` and never show an answer themselves; ``make
student`` copies them for a room with outputs cleared.  Instructors: the
worked solutions are here, and ``docs/instructor/`` has the notes.
"""
