"""A longer fuzz run of every EDI parser: Hypothesis mutates valid messages of each kind (and
throws segment soup at them) and checks that a parser either returns typed objects or raises a
typed jisflow error (``JisflowError``: a ValidationError naming the position). Anything else is
a crash: it is printed with the input that caused it, and the run exits with status 1.

The parsers: the EDIFACT and X12 envelopes with every message reader behind them (DELJIT,
DELFOR, DESADV, CONTRL; X12 830, 850, 856, 862, 866, 997), DELJIT into call-offs, 866 into
pearl-chain rows, forecasts into storable schedules, VDA 4905 and VDA 4913. Each gets
``--examples`` inputs (default 2,000; the CI test runs 150 per property). One line at the end::

    RESULT edi_fuzz examples=<n> crashes=<c> parsers=<k>

    python benchmarks/edi_fuzz.py --examples 5000 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from jisflow.adapters.edi.contrl import contrl_interchange
from jisflow.adapters.edi.delfor import delfor_message
from jisflow.adapters.edi.deljit import deljit_interchange, received_calloffs
from jisflow.adapters.edi.desadv import desadv_message
from jisflow.adapters.edi.documents import forecasts_of, parse_document
from jisflow.adapters.edi.edifact import parse_interchange, serialize_interchange
from jisflow.adapters.edi.forecasts import Commitment, Forecast, ForecastPeriod, PartForecast
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.vda4913 import DespatchItem, Vda4913Transmission, vda4913_text
from jisflow.adapters.edi.x12 import OutboundGroup
from jisflow.adapters.edi.x12 import parse_interchange as parse_x12
from jisflow.adapters.edi.x12 import serialize_interchange as serialize_x12
from jisflow.adapters.edi.x12_856 import asn_856
from jisflow.adapters.edi.x12_866 import ProductionSequence, SequencedVehicle, sequence_866, sequence_rows
from jisflow.adapters.edi.x12_997 import ack_997
from jisflow.adapters.edi.x12_schedules import schedule_transaction
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState
from jisflow.domain.errors import JisflowError, Problem

PROFILE = load_profile("default")
AT = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "edi"


def calloff(count: int = 3) -> CallOff:
    lines = [
        CallOffLine(number="CO-FUZZ-1", supplier="SITZ", unloading_point="DOCK-A", line="L1", order_id=f"ORD{n:06d}", family="SEAT",
                    seq_no=100 + n, rolling_no=n, vin="WJFHA0M1XTM000001" if n % 2 else None, part_number=f"SEAT-{n}", quantity=1,
                    station="T040", need_time=AT + timedelta(minutes=30 + n), ship_by=AT + timedelta(minutes=n), state=CallOffState.SENT)
        for n in range(1, count + 1)
    ]
    return CallOff("CO-FUZZ-1", "SITZ", "DOCK-A", "L1", AT, lines)


def forecast(message: str) -> Forecast:
    periods = tuple(ForecastPeriod("", AT.date() + timedelta(days=7 * w), 100 + w, Commitment.FIRM if w < 2 else Commitment.PLANNING) for w in range(4))
    return Forecast(message, "1" if message == "DELFOR" else "0001", "FC-1", AT.date(), "PLANT", "SITZ",
                    (PartForecast("", "SEAT-1", "S-1", "DOCK-1", "EA", periods),))


def seeds() -> dict[str, list[str]]:
    co = calloff()
    deljit = deljit_interchange([co], PROFILE, "PLANT", "SITZ", "R1", AT)
    sequence = ProductionSequence("0001", "SEQ-1", "20261207", "L1", tuple(
        SequencedVehicle("", 100 + n, f"ORD{n:06d}", None, "TOURER", MappingProxyType({"trim": "LUX", "paint": "P1"}), AT + timedelta(minutes=n))
        for n in range(3)))
    x866 = serialize_x12("PLANT", "SITZ", "000000042", AT, [OutboundGroup("SS", "42", (sequence_866(sequence, PROFILE),))])
    x856 = serialize_x12("SITZ", "PLANT", "000000043", AT, [OutboundGroup("SH", "43", (asn_856("SH-1", co.lines, "R-1", AT, PROFILE),))])
    schedules = {m: serialize_x12("PLANT", "SITZ", "000000044", AT, [OutboundGroup("PS" if m == "830" else "SS", "44", (schedule_transaction(forecast(m)),))])
                 for m in ("830", "862")}
    vda4913 = vda4913_text(Vda4913Transmission("PLANT", "SITZ", "00001", ("C1",), (
        DespatchItem("", "DN1", "SEAT-1", "S-1", Decimal(4), "ST", None, "R-1", "C1", "2026-12-07", "D1"),), "2026-12-07"))
    read = lambda name: (SAMPLES / name).read_text(encoding="utf-8")  # noqa: E731
    return {
        "DELJIT": [deljit],
        "DELFOR": [serialize_interchange("PLANT", "SITZ", "F1", ("261207", "0600"), [delfor_message(forecast("DELFOR"), PROFILE)])],
        "DESADV": [serialize_interchange("SITZ", "PLANT", "D1", ("261207", "0600"), [desadv_message("DN1", co.lines, "R-1", AT, PROFILE)]),
                   read("DESADV.edifact")],
        "CONTRL": [contrl_interchange("R1", "PLANT", "SITZ", [Problem("segment 3 (SEQ)", "bad")], AT, "AR1")],
        "850": [read("850.x12")],
        "856": [x856],
        "866": [x866],
        "830": [schedules["830"]],
        "862": [schedules["862"]],
        "997": [ack_997(x866, [], AT, "000000050")],
        "VDA4905": [read("4905.edi")],
        "VDA4913": [read("4913.edi"), vda4913],
    }


def parsers(s: dict[str, list[str]]) -> dict[str, tuple[list[str], Callable[[str], object]]]:
    """name -> (seed texts, the call under test)."""
    document = lambda text: parse_document(text, PROFILE)  # noqa: E731
    out: dict[str, tuple[list[str], Callable[[str], object]]] = {kind: (texts, document) for kind, texts in s.items()}
    out["DELJIT call-offs"] = (s["DELJIT"], lambda text: received_calloffs(parse_interchange(text), PROFILE))
    out["866 pearl-chain rows"] = (s["866"], lambda text: sequence_rows(parse_x12(text), PROFILE))
    out["forecasts to store"] = (s["DELFOR"] + s["830"] + s["862"] + s["VDA4905"], lambda text: forecasts_of(document(text), "OEM", "SITZ"))
    return out


SOUP = "UNABHZGTSEILQRDC+:'?*~^>|.,-0123456789 \n\r"


def mutated(texts: list[str]):
    """A seed damaged: a slice cut out and something put in its place, or a character changed."""
    return st.one_of(
        st.tuples(st.sampled_from(texts), st.integers(0, 10**6), st.integers(0, 60), st.text(max_size=8)).map(
            lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[3] + t[0][t[1] % (len(t[0]) + 1) + t[2]:]),
        st.tuples(st.sampled_from(texts), st.integers(0, 10**6), st.sampled_from(SOUP)).map(
            lambda t: t[0][: t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) + 1:]),
        st.tuples(st.sampled_from(texts), st.integers(1, 10**6)).map(lambda t: t[0][: t[1] % len(t[0])]),  # truncated
        st.tuples(st.sampled_from(texts), st.text(alphabet=st.sampled_from(SOUP), max_size=200)).map(lambda t: t[0][:40] + t[1]),
    )


def fuzz(name: str, texts: list[str], call: Callable[[str], object], examples: int, run_seed: int, crashes: list) -> int:
    count = 0

    @seed(run_seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated(texts))
    def check(text: str) -> None:
        nonlocal count
        count += 1
        try:
            call(text)
        except JisflowError:
            pass
        except Exception as exc:  # a crash: kept with its input, the run goes on
            crashes.append((name, exc, text, traceback.format_exc(limit=4)))

    check()
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000, help="inputs per parser")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    crashes: list = []
    total = 0
    started = time.perf_counter()
    table = parsers(seeds())
    for texts in (t for t, _ in table.values()):  # every seed is valid: a fuzz run starts from messages that parse
        for text in texts:
            table["DELJIT"][1](text)
    for name, (texts, call) in table.items():
        t0 = time.perf_counter()
        n = fuzz(name, texts, call, args.examples, args.seed, crashes)
        total += n
        print(f"{name:22s} {n:7d} examples {time.perf_counter() - t0:6.1f} s  crashes {sum(c[0] == name for c in crashes)}")
    for name, exc, text, trace in crashes[:10]:
        print(f"\nCRASH in {name}: {type(exc).__name__}: {exc}\ninput: {text[:400]!r}\n{trace}", file=sys.stderr)
    print(f"total {time.perf_counter() - started:.1f} s")
    print(f"RESULT edi_fuzz examples={total} crashes={len(crashes)} parsers={len(table)}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
