"""Reports: attribution of orders to email, KPIs, the admin report pages and the ``reports/`` API.

- ``outcomes``: ``MessageOutcome`` rows (per sent message: bounced, opened, clicked...) from ``email.*`` events;
- ``attribution``: ``AttributedOrder`` rows from ``order.*`` events (last click, else last open; refunds net out);
- ``tasks``: the ``events_recorded`` subscriber that keeps both current;
- ``kpis``: the KPI rows, as SQL aggregates (``GROUP BY`` with conditional counts);
- ``lift``: holdout lift with confidence intervals; ``abtest``: the A/B table with win probabilities;
- ``dashboard``: the store dashboard and the campaign, flow and segment reports as plain data;
- ``charts`` (inline SVG), ``tables`` (cells and CSV), ``views`` and ``urls`` (``/admin/reports/``), ``api``;
- ``plans``: report queries run with PostgreSQL's JIT off.
"""
