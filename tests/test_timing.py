from spektron.timing import median_seconds


def test_median_seconds_runs_warmups_untimed_and_syncs_around_each_timed_call():
    calls = []
    t = median_seconds(lambda: calls.append("fn"), 3, warmup=2, sync=lambda: calls.append("sync"))
    assert calls == ["fn", "fn"] + ["sync", "fn", "sync"] * 3
    assert 0.0 <= t < 0.1


def test_median_seconds_is_the_median_of_the_timed_calls(monkeypatch):
    import spektron.timing as timing

    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # durations 1, 3, 2
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    assert median_seconds(lambda: None, 3) == 2.0
