#!/usr/bin/env python3
"""bench.py's medians, which judge the per-packet goal (--runs N): the
median of each side in each attach order, and the like-with-like pairing
across the orders (cold/cold: both first; warm/warm: both after), checked
on rows made up here; the ab section's per-cell difference; the argument
errors; the cells --cells picks. No kernel, no root: the arithmetic only."""
import contextlib
import io
import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

CELL = "lo-v4-tcp-small:nstl_tp_tcp_prb@tp_btf/tcp_probe"


def add_run(variant, ours_after, ours_first):
    """One --both-orders run of one cell, as bench_bpf() records it: with
    ours after the references, then with ours first (its BENCH lines are
    not printed)."""
    with contextlib.redirect_stdout(io.StringIO()):
        bench.row(f"bpf-{variant}-vs-necessary", CELL, *ours_after, "ns/event")
        bench.row(f"bpf-{variant}-ours-first-vs-necessary", CELL, *ours_first, "ns/event")


class Medians(unittest.TestCase):
    def setUp(self):
        bench.rows.clear()

    def test_each_side_is_its_own_median(self):
        # (ours, necessary) per run: the medians come from different runs.
        add_run("host-default", (80.0, 110.0), (120.0, 85.0))
        add_run("host-default", (90.0, 100.0), (100.0, 95.0))
        add_run("host-default", (70.0, 105.0), (110.0, 90.0))
        cols = bench.cell_medians(bench.vs_necessary_by_order())[("host-default", CELL)]
        self.assertEqual(cols["ours after"], (80.0, 105.0))
        self.assertEqual(cols["ours first"], (110.0, 90.0))

    def test_cold_and_warm_pair_each_first_and_each_after(self):
        # With ours after, the necessary work ran first (cold); with ours
        # first, it ran after (warm).
        add_run("host-default", (80.0, 110.0), (120.0, 85.0))
        cols = bench.cell_medians(bench.vs_necessary_by_order())[("host-default", CELL)]
        self.assertEqual(cols["cold/cold"], (120.0, 110.0))
        self.assertEqual(cols["warm/warm"], (80.0, 85.0))

    def test_one_order_has_no_cross_pairing(self):
        with contextlib.redirect_stdout(io.StringIO()):
            bench.row("bpf-host-default-vs-necessary", CELL, 80.0, 100.0, "ns/event")
        cols = bench.cell_medians(bench.vs_necessary_by_order())[("host-default", CELL)]
        self.assertEqual(set(cols), {"ours after"})

    def test_variants_stay_apart(self):
        add_run("host-default", (80.0, 100.0), (100.0, 80.0))
        add_run("host-all-netns", (200.0, 100.0), (100.0, 80.0))
        medians = bench.cell_medians(bench.vs_necessary_by_order())
        self.assertEqual(medians[("host-default", CELL)]["ours after"], (80.0, 100.0))
        self.assertEqual(medians[("host-all-netns", CELL)]["ours after"], (200.0, 100.0))

    def test_above_goal_lists_exactly_the_cells_beyond_it(self):
        # ours after 0.83x, ours first 1.50x, cold/cold 1.25x, warm/warm 1.00x
        add_run("host-default", (100.0, 120.0), (150.0, 100.0))
        medians = bench.cell_medians(bench.vs_necessary_by_order())

        def columns(goal):
            return sorted(what for what in ("ours after", "ours first", "cold/cold", "warm/warm")
                          for line in bench.above_goal(medians, goal) if f" {what}: " in line)
        self.assertEqual(columns(1.25), ["ours first"])  # at the goal is within it
        self.assertEqual(columns(1.0), ["cold/cold", "ours first"])
        self.assertEqual(columns(0.5), ["cold/cold", "ours after", "ours first", "warm/warm"])
        self.assertIn("host-default " + CELL + " ours first: 150.0 / 100.0 ns (1.50x)",
                      bench.above_goal(medians, 1.25))


class PairDifferences(unittest.TestCase):
    """The ab section's per-cell difference (two daemons at once, in both
    attach orders, over repeated runs), on made-up rows."""
    PROG = "nstl_tp_tcp_prb@tp_btf/tcp_probe"

    def setUp(self):
        bench.rows.clear()

    def add(self, first, new_ns, old_ns, cell="lo-v4-tcp-bulk"):
        with contextlib.redirect_stdout(io.StringIO()):
            bench.row(f"ab-host-{first}-first", f"{cell}:{self.PROG}", new_ns, old_ns,
                      "ns/event", "1000 events")

    def test_median_per_order_then_the_mean_of_the_orders(self):
        # new first pays the misses (+10), old first makes new look cheap
        # (-20): the change itself is their mean, -5; each order's value is
        # its median over the runs, so one run's outlier (+90) is ignored.
        for new_ns, old_ns in ((110, 100), (111, 100), (190, 100)):
            self.add("new", new_ns, old_ns)
        for new_ns, old_ns in ((80, 100), (81, 100), (79, 100)):
            self.add("old", new_ns, old_ns)
        sides = bench.pair_orders("ab")[self.PROG]["lo-v4-tcp-bulk"]
        diff, per_order = bench.pair_cell_difference(sides)
        self.assertEqual(per_order, {"new": 11, "old": -20})
        self.assertEqual(diff, -4.5)

    def test_one_order_alone_is_no_difference(self):
        self.add("new", 110, 100)
        sides = bench.pair_orders("ab")[self.PROG]["lo-v4-tcp-bulk"]
        self.assertIsNone(bench.pair_cell_difference(sides))

    def test_only_the_pair_rows_of_the_tag_count(self):
        self.add("new", 110, 100)
        self.add("old", 90, 100)
        with contextlib.redirect_stdout(io.StringIO()):
            bench.row("ab-summary", self.PROG, 1.0, 1.0, "ratio")
            bench.row("ab-cell", f"lo-v4-tcp-bulk:{self.PROG}", 0.0, 0.0, "ns")
            bench.row("native-host-on-first", f"lo-v4-tcp-bulk:{self.PROG}", 500, 1, "ns/event",
                      "1000 events")
        by = bench.pair_orders("ab")
        self.assertEqual(list(by), [self.PROG])
        self.assertEqual(by[self.PROG]["lo-v4-tcp-bulk"],
                         {"new": [(110, 100, 1000)], "old": [(90, 100, 1000)]})


class Arguments(unittest.TestCase):
    """The goal is judged on medians only: bench.py refuses, before any
    work, a goal without the runs to take medians of, however it is
    spelled. Run in this process as a user that is not root, so that code
    which let the arguments pass would stop at the root check, not touch
    the namespaces of a bench running beside it."""
    PATHS = ["--daemon", "x", "--floor", "x", "--scrape", "x", "--stats-cost", "x",
             "--prog-info", "x"]

    def refused(self, *args):
        err = io.StringIO()
        with mock.patch.object(sys, "argv", ["bench.py", *self.PATHS, *args]), \
                mock.patch.object(os, "geteuid", return_value=65534), \
                contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
                self.assertRaises(SystemExit) as stop:
            bench.main()
        self.assertEqual(stop.exception.code, 2, err.getvalue())
        return err.getvalue()

    def test_a_goal_needs_two_runs_even_at_the_default_value(self):
        self.assertIn("--goal judges medians", self.refused("--goal", "1.25"))
        self.assertIn("--goal judges medians", self.refused("--goal", "1.1", "--runs", "1"))

    def test_no_runs_is_refused(self):
        self.assertIn("--runs must be 1 or more", self.refused("--runs", "0"))

    def test_first_takes_reference_kinds_and_not_ours_first(self):
        self.assertIn("--first: kinds of", self.refused("--first", "clock,ours"))
        self.assertIn("cannot be both", self.refused("--first", "clock", "--ours-first"))

    def test_the_ab_section_and_against_go_together(self):
        self.assertIn("go together", self.refused("--sections", "ab"))
        self.assertIn("go together", self.refused("--against", "y"))

    def test_an_ab_variant_is_a_known_config_of_the_ab_section(self):
        self.assertIn("invalid choice", self.refused("--sections", "ab", "--against", "y",
                                                     "--ab-variant", "nope"))
        self.assertIn("needs --against", self.refused("--ab-variant", "grouped"))

    def test_cells_is_a_pattern_that_names_a_cell(self):
        self.assertIn("not a regular expression", self.refused("--cells", "lo-(udp"))
        self.assertIn("no cell of the matrix matches", self.refused("--cells", "lo-v5-"))


class Cells(unittest.TestCase):
    """--cells: the matrix cells whose name matches, in matrix order."""

    def test_a_pattern_picks_its_cells_in_matrix_order(self):
        names = ["-".join(c) for c in bench.matrix_cells("lo-v[46]-udp-paged")]
        self.assertEqual(names, ["lo-v4-udp-paged", "lo-v6-udp-paged"])

    def test_no_pattern_is_the_whole_matrix(self):
        whole = bench.matrix_cells()
        self.assertEqual(len(whole), len(bench.PATHS) * 2 * len(bench.CLASSES))
        self.assertEqual(bench.matrix_cells(".*"), whole)


if __name__ == "__main__":
    unittest.main()
