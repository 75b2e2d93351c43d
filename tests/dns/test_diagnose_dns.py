"""dns_causes and mx_causes over recorded results: pure, no IO."""

from __future__ import annotations

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.dns import dns_causes, mx_causes
from smtpdoctor.finding import Finding, Severity
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import DnsQuery, MxHost, MxPlan, ResolveResult

NS = ("192.0.2.53", "198.51.100.53")


def q(rdtype: str, status: str, ms: float = 5.0, *answers: str, ns: str = NS[0]) -> DnsQuery:
    return DnsQuery("mx.lab.test", rdtype, status, ms, tuple(answers), nameserver=ns)


def res(*queries: DnsQuery, addresses: tuple[str, ...] = (), ms: float = 10.0) -> ResolveResult:
    return ResolveResult("mx.lab.test", addresses, queries, NS, ms)


def codes(causes: list[Finding]) -> list[CauseCode]:
    return [c.code for c in causes]


def test_clean_answer_has_no_cause() -> None:
    r = res(q("A", "ok", 3, "192.0.2.1"), q("AAAA", "ok", 3, "2001:db8::1"),
            addresses=("192.0.2.1", "2001:db8::1"))  # fmt: skip
    assert dns_causes(r) == []


def test_literal_has_no_cause() -> None:
    assert dns_causes(ResolveResult("192.0.2.1", ("192.0.2.1",), is_literal=True)) == []


def test_nxdomain() -> None:
    [cause] = dns_causes(res(q("A", "nxdomain"), q("AAAA", "nxdomain")))
    assert cause.code is CauseCode.DNS_NXDOMAIN and cause.severity is Severity.ERROR
    assert cause.phase is Phase.RESOLVE and cause.host == "mx.lab.test"
    assert "192.0.2.53" in cause.summary
    assert any("nxdomain" in line for line in cause.evidence_lines)
    assert cause.fixes  # the catalogue's fixes follow


def test_nxdomain_wins_over_a_timeout_of_the_other_family() -> None:
    [cause] = dns_causes(res(q("A", "nxdomain"), q("AAAA", "timeout", 2000)))
    assert cause.code is CauseCode.DNS_NXDOMAIN


def test_no_address() -> None:
    [cause] = dns_causes(res(q("A", "nodata"), q("AAAA", "nodata")))
    assert cause.code is CauseCode.DNS_NO_ADDRESS and cause.severity is Severity.ERROR


def test_servfail_and_refused() -> None:
    [cause] = dns_causes(res(q("A", "servfail"), q("AAAA", "refused")))
    assert cause.code is CauseCode.DNS_SERVFAIL
    assert "REFUSED/SERVFAIL" in cause.summary
    assert any("dig +cd" in f for f in cause.fixes)


def test_timeout_names_each_nameserver_and_its_times() -> None:
    r = res(
        q("A", "timeout", 2000, ns=NS[0]), q("A", "timeout", 1000, ns=NS[1]),
        q("AAAA", "timeout", 2000, ns=NS[0]), q("AAAA", "timeout", 1000, ns=NS[1]),
        ms=3000,
    )  # fmt: skip
    [cause] = dns_causes(r)
    assert cause.code is CauseCode.DNS_TIMEOUT and cause.severity is Severity.ERROR
    assert "192.0.2.53, 198.51.100.53" in cause.summary and "3.0 s" in cause.summary
    assert cause.evidence_lines[0] == (
        "nameserver 192.0.2.53: 2 tries: A timeout after 2000 ms, AAAA timeout after 2000 ms"
    )
    assert "198.51.100.53: 2 tries" in cause.evidence_lines[1]
    assert cause.fixes[0] == "Test each resolver: `dig @192.0.2.53 mx.lab.test A +time=2 +tries=1`"


def test_timeout_mentions_nameservers_never_asked() -> None:
    [cause] = dns_causes(res(q("A", "timeout", 5000), q("AAAA", "timeout", 5000), ms=5000))
    assert (
        "nameserver 198.51.100.53: never asked (the deadline ran out first)" in cause.evidence_lines
    )


def test_unreachable_resolver_counts_as_timeout() -> None:
    [cause] = dns_causes(res(q("A", "error", 1), q("AAAA", "error", 1)))
    assert cause.code is CauseCode.DNS_TIMEOUT


def test_no_queries_at_all_is_a_timeout() -> None:
    [cause] = dns_causes(res())
    assert cause.code is CauseCode.DNS_TIMEOUT


def test_one_family_timed_out_is_a_warning() -> None:
    r = res(q("A", "ok", 3, "192.0.2.1"), q("AAAA", "timeout", 2000), addresses=("192.0.2.1",),
            ms=2000)  # fmt: skip
    causes = dns_causes(r)
    assert codes(causes) == [CauseCode.DNS_TIMEOUT, CauseCode.DNS_SLOW]
    assert causes[0].severity is Severity.WARNING and "AAAA" in causes[0].summary


def test_one_family_servfail_is_a_warning() -> None:
    r = res(q("A", "ok", 3, "192.0.2.1"), q("AAAA", "servfail"), addresses=("192.0.2.1",))
    [cause] = dns_causes(r)
    assert cause.code is CauseCode.DNS_SERVFAIL and cause.severity is Severity.WARNING


def test_slow_threshold() -> None:
    ok = (q("A", "ok", 1200, "192.0.2.1"),)
    assert codes(dns_causes(res(*ok, addresses=("192.0.2.1",), ms=999))) == []
    [slow] = dns_causes(res(*ok, addresses=("192.0.2.1",), ms=1200))
    assert slow.code is CauseCode.DNS_SLOW and slow.severity is Severity.WARNING
    assert "1200 ms (threshold 1000 ms)" in slow.summary
    assert dns_causes(res(*ok, addresses=("192.0.2.1",), ms=1200), slow_ms=1500) == []


def host(pref: int, name: str, *queries: DnsQuery, addresses: tuple[str, ...] = ()) -> MxHost:
    return MxHost(pref, name, ResolveResult(name, addresses, queries, NS, 5.0))


MXQ = DnsQuery("lab.test", "MX", "ok", 4.0, ("10 mx1.lab.test.",), nameserver=NS[0])


def mxplan(*hosts: MxHost, status: str = "ok", null: bool = False, **kw: object) -> MxPlan:
    return MxPlan("lab.test", status, hosts, (MXQ,), NS, 10.0, null_mx=null, **kw)  # type: ignore[arg-type]


def test_null_mx() -> None:
    [cause] = mx_causes(mxplan(null=True))
    assert cause.code is CauseCode.MX_NULL and cause.severity is Severity.ERROR
    assert cause.host == "lab.test"


def test_healthy_plan() -> None:
    good = host(10, "mx1.lab.test", q("A", "ok", 3, "192.0.2.1"), addresses=("192.0.2.1",))
    assert mx_causes(mxplan(good)) == []


def test_failed_mx_lookup_uses_host_rules() -> None:
    failed = MxPlan("lab.test", "nxdomain", (), (DnsQuery("lab.test", "MX", "nxdomain", 3.0),),
                    NS, 3.0)  # fmt: skip
    assert codes(mx_causes(failed)) == [CauseCode.DNS_NXDOMAIN]
    timeout = MxPlan("lab.test", "timeout", (), (DnsQuery("lab.test", "MX", "timeout", 2000.0,
                     nameserver=NS[0]),), NS, 2000.0)  # fmt: skip
    assert codes(mx_causes(timeout)) == [CauseCode.DNS_TIMEOUT]


def test_mx_target_without_address_is_a_warning_when_others_work() -> None:
    good = host(10, "mx1.lab.test", q("A", "ok", 3, "192.0.2.1"), addresses=("192.0.2.1",))
    gone = host(20, "gone.lab.test", q("A", "nxdomain"), q("AAAA", "nxdomain"))
    [cause] = mx_causes(mxplan(good, gone))
    assert cause.code is CauseCode.DNS_NO_ADDRESS and cause.severity is Severity.WARNING
    assert cause.host == "gone.lab.test" and "preference 20" in cause.summary
    assert "does not exist" in cause.summary


def test_mx_target_without_address_is_an_error_when_alone() -> None:
    empty = host(10, "mx1.lab.test", q("A", "nodata"), q("AAAA", "nodata"))
    [cause] = mx_causes(mxplan(empty))
    assert cause.code is CauseCode.DNS_NO_ADDRESS and cause.severity is Severity.ERROR
    assert "cannot be delivered" in cause.summary


def test_mx_target_timeout_downgraded_when_others_work() -> None:
    good = host(10, "mx1.lab.test", q("A", "ok", 3, "192.0.2.1"), addresses=("192.0.2.1",))
    slow = host(20, "mx2.lab.test", q("A", "timeout", 2000), q("AAAA", "timeout", 2000))
    [cause] = mx_causes(mxplan(good, slow))
    assert cause.code is CauseCode.DNS_TIMEOUT and cause.severity is Severity.WARNING


def test_implicit_mx_without_address() -> None:
    itself = host(0, "lab.test", q("A", "nodata"), q("AAAA", "nodata"))
    [cause] = mx_causes(mxplan(itself, status="nodata", implicit=True))
    assert "the domain itself (no MX)" in cause.summary


def test_slow_mx_lookup() -> None:
    good = host(10, "mx1.lab.test", q("A", "ok", 3, "192.0.2.1"), addresses=("192.0.2.1",))
    plan = MxPlan("lab.test", "ok", (good,), (DnsQuery("lab.test", "MX", "ok", 1500.0),), NS, 1.5)
    [cause] = mx_causes(plan)
    assert cause.code is CauseCode.DNS_SLOW and "MX lookup" in cause.summary
