"""``sax_worker.convert.progress``: a redrawn bar on a terminal, a few plain lines elsewhere."""

import io

from sax_worker.convert.progress import Progress, format_bytes, format_duration

MiB = 2**20


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_on_a_terminal_one_line_is_redrawn_with_bar_bytes_variables_and_eta():
    stream, clock = Terminal(), Clock()
    progress = Progress("converting", 4, 400 * MiB, stream, clock)

    clock.now = 10.0
    progress.advance(100 * MiB)

    assert stream.getvalue() == (
        "\rconverting [#####---------------]  25%  100.00/400.00 MiB  1/4 variables  ETA 30s\x1b[K"
    )


def test_elsewhere_a_plain_line_at_each_tenth_and_none_in_between():
    stream, clock = io.StringIO(), Clock()
    progress = Progress("converting", 100, 100 * MiB, stream, clock)

    for _ in range(25):
        clock.now += 1.0
        progress.advance(1 * MiB)

    assert stream.getvalue().splitlines() == [
        "converting:  10%  10.00/100.00 MiB  10/100 variables  ETA 1m30s",
        "converting:  20%  20.00/100.00 MiB  20/100 variables  ETA 1m20s",
    ]


def test_work_of_an_earlier_run_counts_as_done_but_not_towards_the_rate():
    stream, clock = io.StringIO(), Clock()
    progress = Progress("converting", 10, 10 * MiB, stream, clock)
    progress.skip(5, 5 * MiB)

    clock.now = 2.0
    progress.advance(1 * MiB)

    assert progress.line() == "converting:  60%  6.00/10.00 MiB  6/10 variables  ETA 8s"


def test_sizes_and_durations_read_naturally():
    assert format_bytes(3 * 2**30 // 2) == "1.50 GiB"
    assert format_bytes(512, 3 * MiB) == "0.00/3.00 MiB"
    assert format_bytes(100) == "100 B"
    assert [format_duration(s) for s in (42, 185, 3720)] == ["42s", "3m05s", "1h02m"]
