"""A fresh process's first steps, for the runner's ``import`` and ``cold`` scenarios.

    python _cold.py CONTENDER import|cold BASE_URL

prints ``{"ms": ...}``: the wall time of ``import replicate`` (for a floor: its HTTP library
and msgspec), or of the import, the client, and a first ``predictions.get`` decoded (for a
floor: the same GET by hand, decoded into a msgspec struct defined here). Nothing but ``time``
and ``sys`` is imported before the clock starts.
"""

import time

T0 = time.perf_counter()

import sys  # noqa: E402


def cold(contender: str, base: str) -> None:
    pid = "gm3qorzdhgbfurvjtvhg6dckhu"
    headers = {"Authorization": "Bearer r8_bench", "Accept": "application/json"}
    if contender.startswith("floor"):
        import msgspec

        class URLs(msgspec.Struct):
            get: str | None = None
            cancel: str | None = None
            stream: str | None = None
            web: str | None = None

        class Prediction(msgspec.Struct):
            id: str
            status: str
            model: str | None = None
            version: str | None = None
            input: dict | None = None
            output: object = None
            logs: str | None = None
            error: object = None
            source: str | None = None
            data_removed: bool | None = None
            created_at: str | None = None
            started_at: str | None = None
            completed_at: str | None = None
            urls: URLs | None = None
            metrics: dict | None = None
            deployment: str | None = None

        url = f"{base}/v1/predictions/{pid}"
        if contender == "floor-urllib3":
            import urllib3

            body = urllib3.PoolManager().request("GET", url, headers=headers, retries=False).data
        else:
            import httpx

            body = httpx.Client().get(url, headers=headers).content
        result = msgspec.json.decode(body, type=Prediction)
    elif contender.startswith("ours"):
        import replicate

        transport = contender.partition("-")[2]
        kwargs = {} if transport == "urllib3" else {"transport": transport}
        client = replicate.Replicate(bearer_token="r8_bench", base_url=base + "/v1", **kwargs)
        result = client.predictions.get(pid)
    elif contender == "v2":
        import replicate

        client = replicate.Replicate(bearer_token="r8_bench", base_url=base + "/v1")
        result = client.predictions.get(prediction_id=pid)
    else:
        import replicate

        result = replicate.Client(api_token="r8_bench", base_url=base).predictions.get(pid)
    if result.id != pid:
        raise SystemExit(f"got prediction {result.id}")


def main() -> None:
    contender, scenario = sys.argv[1], sys.argv[2]
    if scenario == "import":
        if contender == "floor-urllib3":
            import msgspec
            import urllib3  # noqa: F401
        elif contender == "floor-httpx":
            import httpx  # noqa: F401
            import msgspec  # noqa: F401
        else:
            import replicate  # noqa: F401
    else:
        cold(contender, sys.argv[3])
    ms = (time.perf_counter() - T0) * 1e3
    sys.stdout.write(f'{{"ms": {ms:.4f}, "cpu_s": {time.process_time():.6f}}}\n')


if __name__ == "__main__":
    main()
