"""The ``emgdx`` command, above both applications (``pipelines/`` and ``app/``).

Nothing imports this package except the console script and the tests: it dispatches each
subcommand to one thin ``main()`` in ``pipelines/<stage>.py`` or ``app/``.
"""
