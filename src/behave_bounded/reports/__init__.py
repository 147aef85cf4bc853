"""The views of a run: console, behave's formatters replayed, JSON, JUnit, merging shard reports.

Every view reads the same finalized record of each task; none decides on its own what a
result is (see :mod:`behave_bounded.finalize`).
"""
