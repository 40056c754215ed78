"""QR costs: sign/verify against a bare HMAC, rendering against one PNG; run `python -m bench.qr`."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.qr import QrError, QrPayload, QrSigner, make_label, render_label_sheet, render_png, render_svg

SECRET = "bench-qr-secret-0123456789abcdef"


def per_call(action: Callable[[], object], minimum_seconds: float = 0.5) -> float:
    """Seconds per call, repeating until the measurement lasts long enough to trust."""
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < minimum_seconds:
        action()
        calls += 1
    return elapsed / calls


def main() -> None:
    signer = QrSigner(SECRET, "https://ops.example.com")
    payload = QrPayload("op", ("WO-2026-001", "10"), datetime(2030, 1, 1, tzinfo=UTC))
    url, now = signer.url(payload), datetime(2026, 1, 1, tzinfo=UTC)
    body = signer.token(payload).encode()
    baseline = per_call(lambda: hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    print(f"baseline: bare HMAC-SHA256 {baseline * 1e6:.2f} us/call")
    for name, action in [("token()", lambda: signer.token(payload)),
                         ("verify(url)", lambda: signer.verify(url, now=now)),
                         ("verify(garbage)", lambda: _refuse(signer, "https://x/h5/q/AAAA"))]:
        seconds = per_call(action)
        print(f"{name:18s} {seconds * 1e6:8.2f} us/call  {seconds / baseline:6.1f}x baseline")

    png = per_call(lambda: render_png(url))
    print(f"render_png (scale 8) {png * 1e3:.2f} ms/label (render baseline)")
    svg = per_call(lambda: render_svg(url))
    print(f"render_svg           {svg * 1e3:.2f} ms/label  {svg / png:5.2f}x render_png")
    labels = [make_label(signer, QrPayload("op", ("WO-2026-001", str(seq)))) for seq in range(10, 1210, 10)]
    sheet = per_call(lambda: render_label_sheet(labels, "bench"), minimum_seconds=2)
    print(f"label sheet, 120 labels {sheet * 1e3:.1f} ms  {sheet / (120 * png):5.2f}x 120 x render_png")


def _refuse(signer: QrSigner, text: str) -> None:
    try:
        signer.verify(text)
    except QrError:  # the refusal is the work being measured
        return


if __name__ == "__main__":
    main()
