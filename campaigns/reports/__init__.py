"""Reports: attribution of orders to email, KPIs, the admin report pages and the ``reports/`` API.

- ``outcomes``: ``MessageOutcome`` rows (per sent message: bounced, opened, clicked...) from ``email.*`` events;
- ``attribution``: ``AttributedOrder`` rows from ``order.*`` events (last click, else last open);
- ``tasks``: the ``events_recorded`` subscriber that keeps both current;
- ``kpis``: every number of every report, as SQL aggregates (``GROUP BY`` with conditional counts);
- ``lift``: holdout lift with confidence intervals; ``abtest``: the A/B table;
- ``charts``: inline SVG; ``csvexport``: tables as CSV; ``admin`` and ``api``: the pages and endpoints.
"""
