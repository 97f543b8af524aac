"""Running the same work in several threads at once, each on its own database connection."""

import threading

from django.db import connection


def at_once(work, *, times: int = 2, timeout: float = 60) -> list:
    """Start `work()` in `times` threads released together by a barrier; return the results of those
    that finished (a test asserts there are `times` of them)."""
    barrier = threading.Barrier(times)
    results = []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
