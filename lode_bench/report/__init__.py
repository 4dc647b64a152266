"""Reports and leaderboards: tables, plots, visual comparisons, submissions and static sites.

Entry points:

* :func:`lode_bench.report.builder.build_report` (``lode-bench report``)
* :func:`lode_bench.report.site.build_site` (``lode-bench leaderboard build``)
* :func:`lode_bench.report.leaderboard.validate_all` (``lode-bench leaderboard validate``)
* :func:`lode_bench.report.submission.export_submission` (``lode-bench leaderboard export``)
* :func:`lode_bench.report.summary.summarize` (numbers behind every table)
"""
