"""Lambda entry points, thin: Powertools decorators, parse, call a use case, return. Each ``make_*``
builds a handler (the deployed one in ``functions/*/app.py``, or a test's with injected ``Clients``)."""
