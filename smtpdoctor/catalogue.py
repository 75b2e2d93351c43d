"""The one catalogue of causes: every part of smtpdoctor names faults with these codes.

Codes are public interface (JSON output, metric labels, exit codes): add codes, never
rename one. Each entry says what the fault is, how it shows, how to prove it and how to
fix it, with exact commands where there are any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType


class CauseCode(StrEnum):
    """Stable identifiers of what went wrong."""

    OK = "ok"
    DNS_NXDOMAIN = "dns_nxdomain"
    DNS_NO_ADDRESS = "dns_no_address"
    DNS_TIMEOUT = "dns_timeout"
    DNS_SERVFAIL = "dns_servfail"
    DNS_SLOW = "dns_slow"
    MX_NULL = "mx_null"
    MX_PARTIAL = "mx_partial"
    CONNECT_TIMEOUT = "connect_timeout"
    PORT25_BLOCKED = "port25_blocked"
    CONNECT_REFUSED = "connect_refused"
    HOST_UNREACHABLE = "host_unreachable"
    NETWORK_UNREACHABLE = "network_unreachable"
    IPV6_BROKEN = "ipv6_broken"
    MTU_BLACKHOLE = "mtu_blackhole"
    GREETING_TIMEOUT = "greeting_timeout"
    GREETING_SLOW = "greeting_slow"
    SERVER_BUSY = "server_busy"
    TLS_MODE_MISMATCH = "tls_mode_mismatch"
    TLS_HANDSHAKE_TIMEOUT = "tls_handshake_timeout"
    TLS_FAILED = "tls_failed"
    TLS_CERT_INVALID = "tls_cert_invalid"
    STARTTLS_MISSING = "starttls_missing"
    AUTH_FAILED = "auth_failed"
    AUTH_UNAVAILABLE = "auth_unavailable"
    COMMAND_TIMEOUT = "command_timeout"
    DATA_TIMEOUT = "data_timeout"
    GREYLISTED = "greylisted"
    REJECTED = "rejected"
    CONNECTION_DROPPED = "connection_dropped"
    PROTOCOL_VIOLATION = "protocol_violation"
    CONNECT_SLOW = "connect_slow"
    REPLY_SLOW = "reply_slow"
    TLS_CERT_EXPIRING = "tls_cert_expiring"
    RATE_LIMITED = "rate_limited"
    BLOCKLISTED = "blocklisted"
    CLIENT_POLICY = "client_policy"
    MAILBOX_FULL = "mailbox_full"
    RECIPIENT_UNKNOWN = "recipient_unknown"
    REMOTE_ERROR = "remote_error"
    RETRY_EXPIRED = "retry_expired"
    LOCAL_ADDRESS = "local_address"
    MTA_STOPPED = "mta_stopped"


SHOWS_AS_SOURCES = ("check", "postfix", "exim", "sendmail", "opensmtpd", "queue")


@dataclass(frozen=True)
class ShowsAs:
    """One place an admin meets a fault, with the text exactly as it appears there.

    ``source`` is one of SHOWS_AS_SOURCES. ``text`` is the distinctive part of the line:
    Postfix, the reason inside ``status=deferred (...)`` or the whole message of a
    smtp/smtpd line; Exim, the main-log line after the message id; Sendmail, the
    ``stat=`` field or the message after the queue id; OpenSMTPD, the message after the
    session id; queue, the reason `mailq` shows; check, what `smtpdoctor check` prints.
    """

    source: str
    text: str


@dataclass(frozen=True)
class CauseInfo:
    """What the catalogue knows about one cause."""

    code: CauseCode
    title: str
    explanation: str
    evidence: str
    how_to_prove: tuple[str, ...]
    fixes: tuple[str, ...]
    shows_as: tuple[ShowsAs, ...] = ()


_LIST_FIREWALL = (
    "List the local firewall rules: `nft list ruleset`, `iptables -S OUTPUT`, "
    "`ip6tables -S OUTPUT`, `ufw status verbose`, `firewall-cmd --list-all`"
)

_ENTRIES: tuple[CauseInfo, ...] = (
    CauseInfo(
        CauseCode.OK,
        "Nothing wrong",
        "Every phase completed within its time limit.",
        "All phases of at least one address and port succeeded.",
        (),
        (),
    ),
    CauseInfo(
        CauseCode.DNS_NXDOMAIN,
        "The name does not exist",
        "The resolver answered authoritatively that the name does not exist (NXDOMAIN). "
        "No amount of waiting will help: the name is misspelt, the zone lost its record, "
        "or a split-horizon resolver does not know it.",
        "An NXDOMAIN answer for the name from the resolver in /etc/resolv.conf.",
        ("dig +short NAME A", "dig +short NAME AAAA", "dig NAME MX"),
        (
            "Check the spelling of the host name (Postfix: `postconf relayhost`).",
            "Ask the zone's owner to publish the A/AAAA record, or use the right name.",
            "If the name is internal, make sure this machine uses the internal resolver "
            "(`cat /etc/resolv.conf`, `resolvectl status`).",
        ),
    ),
    CauseInfo(
        CauseCode.DNS_NO_ADDRESS,
        "The name has no address",
        "The name exists but publishes no A or AAAA record (or an MX target has none), "
        "so there is nothing to connect to.",
        "NOERROR answers with no A and no AAAA records.",
        ("dig NAME A", "dig NAME AAAA"),
        (
            "Publish an A (and AAAA where IPv6 works) record for the host.",
            "An MX record must point at a host name with addresses, never at a CNAME "
            "or an IP literal (RFC 5321 section 5.1).",
        ),
    ),
    CauseInfo(
        CauseCode.DNS_TIMEOUT,
        "No resolver answered in time",
        "The DNS queries got no answer within the time limit. Every MTA lookup then waits "
        "for the resolver's timeout times its attempts before it even tries to connect, "
        "and Postfix defers with 'Host or domain name not found. Name service error'.",
        "Queries to each nameserver in /etc/resolv.conf timed out.",
        (
            "dig @NAMESERVER NAME A +time=2 +tries=1",
            "cat /etc/resolv.conf",
            "resolvectl status",
        ),
        (
            "Check that the nameservers in /etc/resolv.conf are up and reachable on UDP "
            "and TCP port 53 (a firewall that allows only UDP breaks large answers).",
            "Add a second, independent nameserver line to /etc/resolv.conf, and "
            "`options timeout:2 attempts:2` so a dead one costs seconds, not minutes.",
            "Run a local caching resolver (unbound or systemd-resolved) for the MTA.",
        ),
    ),
    CauseInfo(
        CauseCode.DNS_SERVFAIL,
        "The resolver failed to resolve the name",
        "The resolver answered SERVFAIL or REFUSED: a broken delegation, a DNSSEC "
        "validation failure, or a resolver that does not serve this client.",
        "SERVFAIL or REFUSED in the answer.",
        ("dig NAME A", "dig +cd NAME A  # +cd ignores DNSSEC: if this works, DNSSEC is broken"),
        (
            "If `dig +cd` works, the zone's DNSSEC is broken: tell its owner.",
            "If REFUSED, the resolver does not allow this client: use a resolver that does.",
            "Check the delegation: `dig +trace NAME`.",
        ),
    ),
    CauseInfo(
        CauseCode.DNS_SLOW,
        "Name resolution is slow",
        "Resolution worked but took long (over one second by default): each new "
        "connection pays this delay, and a slightly slower day turns it into a timeout.",
        "The answer arrived after the slow threshold.",
        ("dig NAME A  # look at 'Query time'",),
        (
            "Use a nearby caching resolver (unbound, systemd-resolved) and put it first "
            "in /etc/resolv.conf.",
            "Remove dead nameservers from /etc/resolv.conf: each one costs its timeout "
            "before the next is asked.",
        ),
    ),
    CauseInfo(
        CauseCode.MX_NULL,
        "The domain accepts no mail (null MX)",
        "The domain publishes a null MX ('MX 0 .', RFC 7505): it declares that it takes "
        "no mail at all. Mail to it must bounce at once, not time out.",
        "A single MX record with preference 0 and the root name as exchange.",
        ("dig DOMAIN MX",),
        (
            "Nothing to fix on the sending side: the recipient address is wrong.",
            "If the domain should take mail, its owner must replace the null MX with "
            "real MX records.",
        ),
    ),
    CauseInfo(
        CauseCode.MX_PARTIAL,
        "Some MX hosts or addresses fail",
        "Some of the domain's MX hosts or addresses fail while others work. Mail is "
        "delivered, but each message first waits for the failing ones to time out, "
        "so delivery is late by up to their connect timeouts added together.",
        "At least one MX address works and at least one does not.",
        ("dig DOMAIN MX", "smtpdoctor check @DOMAIN"),
        (
            "Tell the domain's owner which MX hosts fail (the report lists them).",
            "Shorten the wait per dead address: `postconf -e 'smtp_connect_timeout = 15s'`.",
        ),
    ),
    CauseInfo(
        CauseCode.CONNECT_TIMEOUT,
        "The connection attempt got no answer",
        "The SYN was never answered: a firewall somewhere silently drops the packets "
        "(DROP), or the host is down. Clients wait for their full connect timeout "
        "(Postfix smtp_connect_timeout, 30 s by default) on every attempt.",
        "No SYN-ACK, no RST and no ICMP error within the connect timeout.",
        ("smtpdoctor trace HOST:PORT", "nc -vz -w 5 HOST PORT"),
        (
            _LIST_FIREWALL + ", and look for DROP rules on the port.",
            "Ask whoever runs the server whether it is up and its firewall allows this "
            "machine's address.",
            "Run `smtpdoctor trace HOST:PORT` to find the last hop that answers: the "
            "drop happens just after it.",
        ),
    ),
    CauseInfo(
        CauseCode.PORT25_BLOCKED,
        "Outbound port 25 is blocked",
        "Port 25 is silently dropped while other ports of the same host answer. That is "
        "an outbound block on the way: most ISPs and cloud providers (AWS, GCP, Azure, "
        "many VPS hosts) block outbound port 25 by default, or a local firewall does.",
        "Port 25 times out while port 587 or 465 of the same host (or a reference host) connects.",
        ("smtpdoctor check HOST:25 --reference OTHER-MX", "smtpdoctor trace HOST:25"),
        (
            _LIST_FIREWALL + ", and look for rules on `tcp dport 25`.",
            "Ask the ISP or cloud provider to lift the outbound port 25 block "
            "(many have a request form).",
            "Send through a relay on the submission port with authentication instead: "
            "`postconf -e 'relayhost = [smtp.provider.example]:587' "
            "'smtp_sasl_auth_enable = yes' 'smtp_tls_security_level = encrypt'`.",
        ),
    ),
    CauseInfo(
        CauseCode.CONNECT_REFUSED,
        "The connection was refused",
        "The host answered the SYN with a reset: nothing listens on that port, or a "
        "firewall REJECT rule with tcp-reset. This is fast and loud, not a timeout.",
        "A TCP RST (ECONNREFUSED) in answer to the SYN.",
        ("ss -ltnp  # on the server: is anything listening?", "nc -vz HOST PORT"),
        (
            "On the server, start the MTA and make it listen on this port "
            "(Postfix: `postconf inet_interfaces`, and the service lines in master.cf).",
            "If the port should be open, look for a REJECT rule: " + _LIST_FIREWALL + ".",
        ),
    ),
    CauseInfo(
        CauseCode.HOST_UNREACHABLE,
        "The host is unreachable",
        "A router or the host sent an ICMP unreachable (host unreachable, or "
        "administratively prohibited by a firewall's reject rule).",
        "An ICMP destination-unreachable error for the connection.",
        ("smtpdoctor trace HOST:PORT", "ip route get ADDRESS"),
        (
            "Run `smtpdoctor trace HOST:PORT` to see which router answers with the error.",
            "If it is 'administratively prohibited', a firewall rejects the traffic: "
            + _LIST_FIREWALL
            + ".",
        ),
    ),
    CauseInfo(
        CauseCode.NETWORK_UNREACHABLE,
        "This machine has no route to the host",
        "The kernel has no route for the destination address (ENETUNREACH): typically "
        "IPv6 addresses on a machine without IPv6 connectivity, or a missing default route.",
        "connect() failed at once with 'Network is unreachable'.",
        ("ip route get ADDRESS", "ip -6 route show default"),
        (
            "Add the missing route or default gateway (`ip route`, your network config).",
            "On a host without IPv6, make the MTA use IPv4 only: "
            "`postconf -e 'inet_protocols = ipv4'` and `postfix reload`.",
        ),
    ),
    CauseInfo(
        CauseCode.IPV6_BROKEN,
        "IPv6 fails where IPv4 works",
        "The IPv6 path to the host fails while IPv4 works. Clients that prefer IPv6 "
        "wait for the IPv6 attempt to time out before falling back, and those that do "
        "not fall back never deliver.",
        "The same host and port: IPv4 succeeds, IPv6 fails.",
        ("ip -6 route get ADDRESS", "smtpdoctor trace [ADDRESS]:25"),
        (
            "Fix the IPv6 route or firewall (ip6tables / nft inet rules).",
            "Meanwhile make Postfix prefer IPv4: "
            "`postconf -e 'smtp_address_preference = ipv4'` (it still uses IPv6 when "
            "IPv4 fails) or disable IPv6: `postconf -e 'inet_protocols = ipv4'`.",
        ),
    ),
    CauseInfo(
        CauseCode.MTU_BLACKHOLE,
        "Large packets vanish on the path (MTU blackhole)",
        "A link on the path has a smaller MTU and the ICMP 'fragmentation needed' / "
        "'packet too big' messages are dropped, so path MTU discovery never learns it. "
        "Small packets (the greeting, EHLO) pass; full-size ones (the TLS certificate, "
        "a large reply or the message body) vanish and the session stalls.",
        "The session stalls at the first large packet and succeeds when retried with "
        "a clamped MSS (TCP_MAXSEG).",
        ("smtpdoctor check HOST:PORT  # retries stalled phases with a clamped MSS",),
        (
            "On the router with the small link, clamp the MSS: "
            "`nft add rule inet filter forward tcp flags syn tcp option maxseg size set rt mtu`.",
            "Let ICMP through: ICMP type 3 code 4 (IPv4) and ICMPv6 type 2 "
            "(packet too big) must never be dropped.",
            "Or lower this machine's interface MTU: `ip link set dev IFACE mtu 1400`.",
        ),
    ),
    CauseInfo(
        CauseCode.GREETING_TIMEOUT,
        "Connected, but no greeting",
        "The TCP connection opened but the server never sent its 220 greeting. The "
        "server is overloaded, stuck on slow reverse-DNS or ident lookups, a tarpit, or "
        "a proxy accepts connections it cannot pass on. Postfix gives up after "
        "smtp_helo_timeout (300 s by default).",
        "Connect succeeded; no reply line arrived within the greeting timeout.",
        ("smtpdoctor check HOST:PORT --timeout greeting=300",),
        (
            "On the server: check its load, its process limits (Postfix "
            "`default_process_limit`, `smtpd` in master.cf) and its DNS (slow reverse "
            "lookups of the client).",
            "Postfix servers with postscreen: `postscreen_greet_wait` delays the greeting "
            "on purpose; keep it short.",
        ),
    ),
    CauseInfo(
        CauseCode.GREETING_SLOW,
        "The greeting came, late",
        "The 220 greeting arrived after more than 5 seconds. A tarpit, a reverse-DNS "
        "lookup that times out, or an overloaded server. Clients with a short greeting "
        "timeout (many applications use 10 s or 30 s) give up when it gets a little worse.",
        "The greeting took longer than the slow threshold.",
        ("smtpdoctor check HOST:PORT",),
        (
            "On the server: make reverse DNS of clients fast (a local caching resolver), "
            "lower postscreen_greet_wait, check load.",
            "On clients: use a greeting timeout of at least 5 minutes as RFC 5321 "
            "section 4.5.3.2 asks (Postfix `smtp_helo_timeout`, default 300 s).",
        ),
    ),
    CauseInfo(
        CauseCode.SERVER_BUSY,
        "The server is busy or limiting connections",
        "The server answered 421 (or another 4xx) instead of a greeting, or closed with "
        "421, for load: too many connections, busy, overloaded, 'try again later' with no "
        "policy wording. Replies that name a rate, a blocklist or the sender's own setup "
        "are rate_limited, blocklisted or client_policy instead.",
        "A 421/4xx at connect (or an unsolicited 421) whose text speaks of load only.",
        ("smtpdoctor check HOST:PORT",),
        (
            "Send fewer connections at once: "
            "`postconf -e 'smtp_destination_concurrency_limit = 2'` (or per transport).",
            "On the server: raise the connection limits "
            "(`smtpd_client_connection_count_limit`, `default_process_limit`).",
        ),
    ),
    CauseInfo(
        CauseCode.TLS_MODE_MISMATCH,
        "STARTTLS and implicit TLS are mixed up",
        "The client spoke plain SMTP (for STARTTLS) to a port that expects a TLS "
        "handshake first (implicit TLS, usually 465), or started a TLS handshake on a "
        "port that speaks plain SMTP first (25, 587). Both sides then wait for each "
        "other until a timeout.",
        "Plain SMTP got no greeting but a TLS handshake worked, or a TLS handshake got "
        "a '220' text greeting.",
        ("openssl s_client -connect HOST:465", "openssl s_client -starttls smtp -connect HOST:587"),
        (
            "Port 465 needs implicit TLS (Postfix: `smtp_tls_wrappermode = yes`; "
            "applications: 'SSL/TLS'); ports 25 and 587 need STARTTLS "
            "(applications: 'STARTTLS').",
        ),
    ),
    CauseInfo(
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        "The TLS handshake stalled",
        "The TLS handshake started but did not finish in time. Often an MTU blackhole "
        "(the certificate is the first large packet), a middlebox that interferes with "
        "TLS, or a server stuck on its key or entropy.",
        "ClientHello sent; the handshake did not complete within the TLS timeout.",
        ("openssl s_client -starttls smtp -connect HOST:PORT",),
        (
            "Suspect the path MTU first: see `smtpdoctor explain mtu_blackhole`.",
            "On the server: check the TLS logs (`grep -i tls /var/log/mail.log`).",
        ),
    ),
    CauseInfo(
        CauseCode.TLS_FAILED,
        "The TLS handshake failed",
        "The TLS handshake was refused: no common protocol version or cipher, or the "
        "server sent an alert.",
        "A TLS alert or handshake error.",
        ("openssl s_client -starttls smtp -connect HOST:PORT -tls1_2",),
        (
            "Make both sides allow TLS 1.2 and 1.3 with modern ciphers "
            "(Postfix: `smtp_tls_protocols = >=TLSv1.2`, `smtpd_tls_protocols = >=TLSv1.2`).",
            "Check the server's key and certificate files are readable by the MTA.",
        ),
    ),
    CauseInfo(
        CauseCode.TLS_CERT_INVALID,
        "The certificate does not verify",
        "The server's certificate is expired, self-signed, from an unknown authority or "
        "for another name. Clients that verify (submission clients, Postfix with "
        "smtp_tls_security_level = verify/secure, MTA-STS or DANE) refuse to send.",
        "Certificate verification failed against the trust store.",
        ("openssl s_client -starttls smtp -connect HOST:PORT -verify_return_error",),
        (
            "Renew the certificate and include the full chain "
            "(Let's Encrypt: `certbot renew`, then `postfix reload`).",
            "Use a certificate whose names include the host name clients connect to.",
        ),
    ),
    CauseInfo(
        CauseCode.STARTTLS_MISSING,
        "STARTTLS is not offered",
        "The server's EHLO reply does not list STARTTLS, so a client that requires "
        "encryption cannot continue, and credentials would travel in clear text.",
        "EHLO capabilities without STARTTLS.",
        ("swaks --server HOST:PORT --quit-after EHLO",),
        (
            "On a Postfix server: `postconf -e 'smtpd_tls_cert_file = /path/fullchain.pem' "
            "'smtpd_tls_key_file = /path/key.pem' 'smtpd_tls_security_level = may'`.",
            "A middlebox may strip STARTTLS (some firewalls 'inspect' SMTP): check for one.",
        ),
    ),
    CauseInfo(
        CauseCode.AUTH_FAILED,
        "The credentials were refused",
        "The server rejected the user name or password (535).",
        "A 535 (or other 5xx) reply to AUTH.",
        ("smtpdoctor check HOST:587 --user USER --password-file FILE",),
        (
            "Check the user name and password (Postfix: `/etc/postfix/sasl_passwd`, then "
            "`postmap /etc/postfix/sasl_passwd`).",
            "Some providers need an app password or OAuth for SMTP.",
        ),
    ),
    CauseInfo(
        CauseCode.AUTH_UNAVAILABLE,
        "AUTH is not offered",
        "The server does not offer AUTH (or none of the mechanisms the client can use). "
        "Many servers offer AUTH only after STARTTLS, or only on port 587/465.",
        "EHLO capabilities without AUTH.",
        ("swaks --server HOST:587 --tls --quit-after AUTH",),
        (
            "Use STARTTLS before AUTH, and the submission port 587 or 465.",
            "On a Postfix server: enable SASL on the submission service in master.cf "
            "(`-o smtpd_sasl_auth_enable=yes`).",
        ),
    ),
    CauseInfo(
        CauseCode.COMMAND_TIMEOUT,
        "The server did not answer a command",
        "The server stopped answering in the middle of the session (the phase says "
        "which command). Often an overloaded server, a slow policy service or content "
        "filter, or a stalled path (MTU).",
        "A command was sent and no reply arrived within the command timeout.",
        ("smtpdoctor check HOST:PORT --rfc",),
        (
            "On the server: check policy services and milters for slowness, and the load.",
            "Use RFC 5321 timeouts on the client side (`smtpdoctor config`).",
        ),
    ),
    CauseInfo(
        CauseCode.DATA_TIMEOUT,
        "The server did not answer DATA or the end of data",
        "The server did not answer the DATA command or the final '.' in time. After "
        "the final '.', a client that gives up does not know whether the message was "
        "accepted and will retry: the message may be delivered twice.",
        "No reply to DATA / end of data within its timeout.",
        ("smtpdoctor check HOST:PORT --send --from A --to B",),
        (
            "On the server: content filters (spam/virus scanning, milters) often take "
            "the time; make them faster or give them more workers.",
            "Give the end of data the RFC's 10 minutes: "
            "`postconf -e 'smtp_data_done_timeout = 600s'`.",
        ),
    ),
    CauseInfo(
        CauseCode.GREYLISTED,
        "Greylisted: try again later",
        "The server temporarily refused the recipient (4xx) the way greylisting does. "
        "The first delivery from a new sender is delayed by the greylisting period "
        "(often 5 to 30 minutes) and then succeeds on retry.",
        "A 4xx whose text says greylist (postgrey, milter-greylist, rspamd, OpenBSD "
        "spamd), or the classic bare 450/451 'try again later' to RCPT or the end of data.",
        ("smtpdoctor check HOST:25 --send ...  # again after a few minutes",),
        (
            "Nothing is broken: the MTA's retry delivers it. Keep "
            "`minimal_backoff_time` short (300s) so the retry comes soon.",
            "Ask the recipient's admin to allowlist your sending IP.",
        ),
    ),
    CauseInfo(
        CauseCode.REJECTED,
        "Rejected",
        "The server refused permanently (5xx): a policy, relay denied, unknown user, "
        "or a block list.",
        "A 5xx reply.",
        ("smtpdoctor check HOST:PORT --from A --to B",),
        (
            "Read the reply text: it names the reason. 'Relay access denied' means the "
            "server does not relay for this client: authenticate (port 587) or use the "
            "right server.",
        ),
    ),
    CauseInfo(
        CauseCode.CONNECTION_DROPPED,
        "The server closed the connection",
        "The server (or something on the path) closed or reset the connection in the "
        "middle of the session.",
        "End of stream or a reset before the session was over.",
        ("smtpdoctor check HOST:PORT",),
        (
            "Look at the server's log at that time for the reason (limits, crashes, "
            "postscreen, fail2ban).",
            "A middlebox (stateful firewall with a short idle timeout) can cut long sessions.",
        ),
    ),
    CauseInfo(
        CauseCode.PROTOCOL_VIOLATION,
        "The server does not speak SMTP properly",
        "The server sent something that is not an SMTP reply: another protocol on the "
        "port (HTTP, SSH, a TLS handshake), a line without end, or an endless multi-line "
        "reply. Clients hang or give up.",
        "A reply line that breaks RFC 5321 section 4.2 (the transcript shows it).",
        ("nc HOST PORT  # look at what the server sends",),
        (
            "Check that the port is served by the MTA and not by another service or a "
            "proxy (`ss -ltnp` on the server).",
        ),
    ),
    CauseInfo(
        CauseCode.CONNECT_SLOW,
        "The TCP handshake succeeded late",
        "The connection was made, but only after about 1 s or 3 s: the first SYN (or its "
        "SYN-ACK) was lost and the kernel retransmitted it (Linux waits 1 s, then 2 s more). "
        "Packets are being lost on the path; clients with short connect timeouts fail.",
        "A connect time just above 1 s or 3 s (the SYN retransmission times), where the "
        "round trip of the rest of the session is short.",
        ("smtpdoctor check HOST:PORT", "smtpdoctor trace HOST:PORT", "mtr -T -P PORT HOST"),
        (
            "Find where packets are lost: `smtpdoctor trace HOST:PORT` or `mtr -T -P 25 HOST`.",
            "Look for a rate-limiting or overloaded firewall (SYN flood protection, conntrack "
            "table full: `conntrack -C` against `sysctl net.netfilter.nf_conntrack_max`).",
            "Keep client connect timeouts at 30 s or more (Postfix smtp_connect_timeout).",
        ),
    ),
    CauseInfo(
        CauseCode.REPLY_SLOW,
        "The server answered, late",
        "A command's reply (or a TLS handshake) succeeded, but took long enough that "
        "clients with short timeouts (many applications give up after 10 to 30 s) fail. "
        "Usual reasons: slow DNS or policy lookups on the server (reverse DNS, RBLs, SPF), "
        "content scanning before the reply, an overloaded server, or a deliberate tarpit.",
        "The phase's reply time above its slow threshold.",
        ("smtpdoctor check HOST:PORT -v",),
        (
            "On the server, look at what runs before that reply: policy services, milters, "
            "RBL and DNS lookups (`postconf smtpd_recipient_restrictions`), and its load.",
            "Give clients a timeout above the slowest reply (RFC 5321 suggests 5 minutes for "
            "MAIL and RCPT, 10 for the end of data).",
        ),
    ),
    CauseInfo(
        CauseCode.TLS_CERT_EXPIRING,
        "The certificate expires soon",
        "The server's certificate is valid today but expires within 21 days. When it "
        "does, clients that verify it stop sending (or fall back to plain text).",
        "The certificate's notAfter date is less than 21 days away.",
        ("openssl s_client -connect HOST:PORT -starttls smtp | openssl x509 -noout -enddate",),
        (
            "Renew the certificate before it expires and reload the MTA (with Let's "
            "Encrypt: `certbot renew`, then `postfix reload`).",
            "Check that automatic renewal runs: `systemctl list-timers | grep certbot`.",
        ),
    ),
    CauseInfo(
        CauseCode.RATE_LIMITED,
        "The server defers for volume or reputation",
        "The receiving server accepts mail from this sender only slowly: too many "
        "messages, recipients or connections in a period, or a sending reputation it does "
        "not trust yet. It answers 421 or 45x with wording such as 'rate limited', "
        "'unusual rate', 'too many messages' or 'temporarily deferred'.",
        "A 4xx reply whose text speaks of rate, volume or reputation.",
        ("smtpdoctor logs /var/log/mail.log", "smtpdoctor queue"),
        (
            "Send less at once to that destination. Postfix: a transport of its own, "
            "`postconf -M slow/unix='slow unix - - n - - smtp'`, `postconf -e "
            "'slow_destination_rate_delay = 1s' 'slow_destination_concurrency_limit = 2' "
            "'transport_maps = hash:/etc/postfix/transport'`, a line `example.com slow:` in "
            "/etc/postfix/transport, then `postmap /etc/postfix/transport && postfix reload`.",
            "Follow the provider's sender guidelines (authenticated mail: SPF, DKIM, DMARC; "
            "a steady volume; a reverse DNS that matches the HELO name).",
        ),
    ),
    CauseInfo(
        CauseCode.BLOCKLISTED,
        "The sender is on a blocklist",
        "The receiving server refuses mail because the sending IP address or domain is "
        "listed on a DNS blocklist (Spamhaus, Barracuda, SpamCop, ...) or has a bad "
        "reputation with that provider.",
        "A reply that names a blocklist, a listing or a blocked IP address.",
        ("dig +short REVERSED-IP.zen.spamhaus.org", "smtpdoctor logs /var/log/mail.log"),
        (
            "Look the sending IP up on the list named in the reply and follow its delisting "
            "procedure after finding why it was listed (an open relay, a compromised account, "
            "a dynamic IP range).",
            "Send through a relay with a good reputation (Postfix: `relayhost`).",
        ),
    ),
    CauseInfo(
        CauseCode.CLIENT_POLICY,
        "Refused for the sender's own setup",
        "The receiving server refuses this sender's setup rather than the message: no "
        "or a wrong reverse DNS (PTR) for the sending IP, a HELO name that does not "
        "resolve, or SPF, DKIM or DMARC checks that fail.",
        "A reply that names reverse DNS, the HELO name, SPF, DKIM or DMARC.",
        ("dig -x SENDING-IP +short", "postconf myhostname smtp_helo_name"),
        (
            "Give the sending IP a PTR record whose name resolves back to it, and use that "
            "name as the HELO name (Postfix: `postconf -e 'smtp_helo_name = NAME'`).",
            "Publish SPF for the sending domain and sign with DKIM; align DMARC.",
        ),
    ),
    CauseInfo(
        CauseCode.MAILBOX_FULL,
        "The recipient's mailbox is full",
        "The recipient exists but is over quota: the server defers (452, 4.2.2) or "
        "refuses (552, 5.2.2) until the recipient makes room.",
        "A 452/552 reply or enhanced status x.2.2 naming quota or a full mailbox.",
        ("smtpdoctor logs /var/log/mail.log",),
        ("Nothing to fix on the sending side: tell the recipient by another channel.",),
    ),
    CauseInfo(
        CauseCode.RECIPIENT_UNKNOWN,
        "The recipient does not exist",
        "The receiving server does not know the recipient address (550 5.1.1 and its "
        "temporary form 450 4.1.1 from servers that check recipients by callout).",
        "A reply with enhanced status x.1.1 or wording such as 'user unknown'.",
        ("smtpdoctor check HOST:PORT --to ADDRESS",),
        (
            "Check the spelling of the address; remove it from the list if it is gone.",
            "If the server is yours, check the recipient maps (`postmap -q ADDRESS "
            "hash:/etc/postfix/virtual`) and `local_recipient_maps`.",
        ),
    ),
    CauseInfo(
        CauseCode.REMOTE_ERROR,
        "The server has a problem of its own",
        "The receiving server answered with a temporary local error: 'local error in "
        "processing', 'server configuration problem', 'insufficient system storage', a "
        "failing milter or policy service. Only its admin can fix it; the MTA retries.",
        "A 451/452/454 reply naming a local, configuration or storage problem.",
        ("smtpdoctor check HOST:PORT",),
        (
            "Wait for the retry, and tell the receiving server's postmaster with the reply "
            "text and time if it persists.",
            "If the server is yours, read its log at that time (`journalctl -u postfix`) for "
            "the fatal or warning line behind the reply.",
        ),
    ),
    CauseInfo(
        CauseCode.RETRY_EXPIRED,
        "The MTA gave up retrying",
        "The message stayed in the queue longer than the MTA's limit (Postfix "
        "`maximal_queue_lifetime`, 5 days by default; Exim's retry rules) and was bounced. "
        "The real cause is the one the earlier deferrals name.",
        "A bounce that says the message was too long in the queue or the retry time expired.",
        ("smtpdoctor logs /var/log/mail.log", "smtpdoctor queue"),
        (
            "Find the cause in the deferrals before the bounce (`smtpdoctor logs` groups them).",
            "Postfix: `postconf maximal_queue_lifetime bounce_queue_lifetime`; Exim: the "
            "`begin retry` section.",
        ),
    ),
    CauseInfo(
        CauseCode.LOCAL_ADDRESS,
        "This machine's source address fails",
        "The connection could not even start here: the source address the MTA binds to "
        "is not on this machine (`smtp_bind_address`), or there is no usable IPv6 source "
        "address for an IPv6 destination ('Cannot assign requested address').",
        "EADDRNOTAVAIL ('Cannot assign requested address') on connect.",
        ("ip -6 addr show scope global", "postconf smtp_bind_address smtp_bind_address6"),
        (
            "Postfix: bind to an address this machine has (`postconf smtp_bind_address "
            "smtp_bind_address6`), or send over IPv4 only: `postconf -e 'inet_protocols = "
            "ipv4'` && `postfix reload`.",
            "Give the interface a global IPv6 address, or remove the IPv6 default route.",
        ),
    ),
    CauseInfo(
        CauseCode.MTA_STOPPED,
        "The mail system is down",
        "The MTA's master process is not running: nothing delivers the queue and nothing "
        "accepts mail from local programs' submissions, so every message waits (and "
        "clients that submit through it time out or are refused).",
        "No master process for the instance (its pid file is missing or names a dead "
        "process); `postqueue -p` says 'mail system is down'.",
        ("postfix status", "systemctl status postfix", "smtpdoctor queue"),
        (
            "Postfix: `postfix start` (or `systemctl start postfix`), then "
            "`postfix check` and the log for why it stopped.",
            "Exim: `systemctl start exim4`.",
        ),
    ),
)

# Where each fault shows, as the MTAs write it. Exim texts are from a real Exim 4.96
# and Postfix texts from a real Postfix 3.7 run into the lab's faults (tests/logs/),
# with the lab's names and addresses replaced by documentation ones.
# tests/test_catalogue_shows.py feeds every log example through the log parser.
_MX = "mx.example.com[192.0.2.10]"
_EXIM_H = "H=mx.example.com [192.0.2.10]"
_EXIM_DEFER = "== user@example.com R=dnslookup T=remote_smtp defer"
_SM_TO = "to=<user@example.com>, delay=00:00:30, mailer=esmtp, relay=mx.example.com. [192.0.2.10]"


def _shows(source: str, *texts: str) -> tuple[ShowsAs, ...]:
    return tuple(ShowsAs(source, text) for text in texts)


SHOWS_AS: Mapping[CauseCode, tuple[ShowsAs, ...]] = MappingProxyType(
    {
        CauseCode.DNS_NXDOMAIN: (
            *_shows("check", "Resolving nx.example.com failed: A nxdomain, AAAA nxdomain"),
            *_shows(
                "postfix",
                "Host or domain name not found. Name service error for name=nx.example.com "
                "type=A: Host not found",
            ),
            *_shows("exim", "** user@nx.example.com: Unrouteable address"),
            *_shows("sendmail", "stat=Host unknown (Name server: nx.example.com: host not found)"),
            *_shows(
                "opensmtpd",
                'mta delivery result="PermFail" stat="Domain does not exist"',
            ),
        ),
        CauseCode.DNS_NO_ADDRESS: (
            *_shows("check", "Resolving mx.example.com failed: A nodata, AAAA nodata"),
            *_shows(
                "postfix",
                "Host or domain name not found. Name service error for name=mx.example.com "
                "type=AAAA: Host found but no data record of requested type",
            ),
        ),
        CauseCode.DNS_TIMEOUT: (
            *_shows("check", "Resolving mx.example.com failed: A timeout, AAAA timeout"),
            *_shows(
                "postfix",
                "Host or domain name not found. Name service error for name=example.com "
                "type=MX: Host not found, try again",
            ),
            *_shows(
                "exim", "== user@example.com R=dnslookup defer (-1): host lookup did not complete"
            ),
            *_shows(
                "sendmail",
                "stat=Deferred: Name server: mx.example.com.: host name lookup failure",
            ),
            *_shows(
                "opensmtpd", 'mta delivery result="TempFail" stat="Temporary failure in MX lookup"'
            ),
            *_shows(
                "queue",
                "(Host or domain name not found. Name service error for name=example.com "
                "type=MX: Host not found, try again)",
            ),
        ),
        CauseCode.DNS_SERVFAIL: (
            *_shows("check", "Resolving mx.example.com failed: A servfail, AAAA servfail"),
        ),
        CauseCode.DNS_SLOW: (
            *_shows(
                "check",
                "Resolved mx.example.com → 192.0.2.10 in 2.4s (resolver 192.0.2.53)",
            ),
        ),
        CauseCode.MX_NULL: (
            *_shows("check", "example.com publishes a null MX (RFC 7505): it accepts no mail."),
            *_shows("postfix", "Domain example.com does not accept mail (nullMX)"),
            *_shows("exim", "** user@example.com: an MX or SRV record indicated no SMTP service"),
        ),
        CauseCode.MX_PARTIAL: (
            *_shows(
                "check",
                "DEGRADED  example.com: mail gets through on 1 of 2 address/port pairs, "
                "with 1 error(s) and 0 warning(s)",
            ),
        ),
        CauseCode.CONNECT_TIMEOUT: (
            *_shows("check", "connect ✗ timeout after 10.0s"),
            *_shows("postfix", f"connect to {_MX}:25: Connection timed out"),
            *_shows(
                "exim",
                f"{_EXIM_H} Connection timed out",
                f"{_EXIM_DEFER} (110): Connection timed out",
            ),
            *_shows("sendmail", "stat=Deferred: Connection timed out with mx.example.com."),
            *_shows("opensmtpd", "mta error reason=Connection timeout"),
            *_shows("queue", f"(connect to {_MX}:25: Connection timed out)"),
        ),
        CauseCode.PORT25_BLOCKED: (
            *_shows(
                "check",
                "192.0.2.10:25 connect ✗ timeout after 10.0s, while 192.0.2.10:587 and "
                "192.0.2.10:465 connect",
            ),
        ),
        CauseCode.CONNECT_REFUSED: (
            *_shows("check", "connect ✗ refused after 0.4ms"),
            *_shows("postfix", f"connect to {_MX}:25: Connection refused"),
            *_shows(
                "exim",
                f"{_EXIM_H} Connection refused",
                f"{_EXIM_DEFER} (111): Connection refused",
            ),
            *_shows("sendmail", "stat=Deferred: Connection refused by mx.example.com."),
        ),
        CauseCode.HOST_UNREACHABLE: (
            *_shows("check", "connect ✗ host unreachable after 3.1s"),
            *_shows("postfix", f"connect to {_MX}:25: No route to host"),
            *_shows("exim", f"{_EXIM_DEFER} (113): No route to host"),
            *_shows("sendmail", "stat=Deferred: No route to host"),
        ),
        CauseCode.NETWORK_UNREACHABLE: (
            *_shows("check", "connect ✗ network unreachable after 0.1ms"),
            *_shows(
                "postfix",
                "connect to mx.example.com[2001:db8::10]:25: Network is unreachable",
            ),
            *_shows("exim", f"{_EXIM_DEFER} (101): Network is unreachable"),
            *_shows("sendmail", "stat=Deferred: Network is unreachable"),
        ),
        CauseCode.IPV6_BROKEN: (
            *_shows(
                "check",
                "[2001:db8::10]:25 connect ✗ timeout after 10.0s, while 192.0.2.10:25 passes",
            ),
        ),
        CauseCode.MTU_BLACKHOLE: (
            *_shows(
                "check",
                "body ✗ timeout after 60.0s, then the same session passes with a clamped MSS",
            ),
        ),
        CauseCode.GREETING_TIMEOUT: (
            *_shows("check", "greeting ✗ timeout after 30.0s"),
            *_shows(
                "postfix",
                f"conversation with {_MX} timed out while receiving the initial server greeting",
            ),
            *_shows(
                "exim",
                f"{_EXIM_H}: SMTP timeout after initial connection: Connection timed out",
                f"{_EXIM_DEFER} (110): Connection timed out {_EXIM_H}: SMTP timeout after "
                "initial connection",
            ),
            *_shows(
                "sendmail",
                "timeout waiting for input from mx.example.com. during client greeting",
            ),
        ),
        CauseCode.GREETING_SLOW: (*_shows("check", "greeting 12.4s"),),
        CauseCode.SERVER_BUSY: (
            *_shows("check", "greeting ✗ temp fail 421 after 15ms"),
            *_shows(
                "postfix",
                f"host {_MX} refused to talk to me: 421 4.3.2 Too many connections, "
                "try again later",
            ),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (0) {_EXIM_H}: SMTP error from remote mail server after "
                "initial connection: 421 4.3.2 Too many connections, try again later",
            ),
        ),
        CauseCode.TLS_MODE_MISMATCH: (
            *_shows("check", "greeting ✗ timeout after 30.0s on port 465 (implicit TLS expected)"),
        ),
        CauseCode.TLS_HANDSHAKE_TIMEOUT: (
            *_shows("check", "starttls ✗ timeout after 15.0s"),
            *_shows("postfix", f"SSL_connect error to {_MX}:25: Connection timed out"),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (-37) {_EXIM_H}: TLS session: (gnutls_handshake): timed out",
            ),
        ),
        CauseCode.TLS_FAILED: (
            *_shows("check", "starttls ✗ tls error after 20ms"),
            *_shows("postfix", "Cannot start TLS: handshake failure"),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (-37) {_EXIM_H}: TLS session: (gnutls_handshake): "
                "A TLS fatal alert has been received.",
            ),
        ),
        CauseCode.TLS_CERT_INVALID: (
            *_shows(
                "check", "TLS TLSv1.3 TLS_AES_256_GCM_SHA384; NOT verified: certificate has expired"
            ),
            *_shows("postfix", "Server certificate not verified"),
        ),
        CauseCode.STARTTLS_MISSING: (
            *_shows("check", "starttls ✗ not offered after 0.0ms"),
            *_shows("postfix", f"TLS is required, but was not offered by host {_MX}"),
        ),
        CauseCode.AUTH_FAILED: (
            *_shows("check", "auth ✗ perm fail 535 after 30ms"),
            *_shows(
                "postfix",
                f"SASL authentication failed; server {_MX} said: 535 5.7.8 Error: "
                "authentication failed: authentication failure",
            ),
        ),
        CauseCode.AUTH_UNAVAILABLE: (*_shows("check", "auth ✗ not offered after 0.0ms"),),
        CauseCode.COMMAND_TIMEOUT: (
            *_shows("check", "mail ✗ timeout after 30.0s"),
            *_shows("postfix", f"conversation with {_MX} timed out while sending MAIL FROM"),
            *_shows(
                "exim",
                f"{_EXIM_H}: SMTP timeout after pipelined MAIL FROM:<sender@example.org> "
                "SIZE=1390: Connection timed out",
                f"{_EXIM_DEFER} (110): Connection timed out {_EXIM_H}: SMTP timeout after "
                "MAIL FROM:<sender@example.org>",
            ),
            *_shows(
                "sendmail",
                "timeout waiting for input from mx.example.com. during client MAIL",
                "stat=Deferred: 451 4.4.2 timeout waiting for input from mx.example.com. "
                "during client MAIL",
            ),
        ),
        CauseCode.DATA_TIMEOUT: (
            *_shows("check", "eod ✗ timeout after 60.0s"),
            *_shows(
                "postfix",
                f"conversation with {_MX} timed out while sending end of data -- message may "
                "be sent more than once",
                f"conversation with {_MX} timed out while sending message body",
            ),
            *_shows(
                "exim",
                f"{_EXIM_H}: SMTP timeout after end of data (368 bytes written): "
                "Connection timed out",
            ),
            *_shows(
                "sendmail",
                "timeout waiting for input from mx.example.com. during client DATA status",
            ),
        ),
        CauseCode.GREYLISTED: (
            *_shows("check", "rcpt ✗ temp fail 450 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 450 4.7.1 <user@example.com>: Recipient address rejected: "
                "Greylisted, try again later (in reply to RCPT TO command)",
            ),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (-44) {_EXIM_H}: SMTP error from remote mail server after "
                "RCPT TO:<user@example.com>: 450 4.2.0 <user@example.com>: Recipient address "
                "rejected: Greylisted, try again later",
            ),
            *_shows(
                "opensmtpd",
                'mta delivery result="TempFail" stat="451 4.7.1 Greylisting in action, '
                'please come back later"',
            ),
        ),
        CauseCode.REJECTED: (
            *_shows("check", "rcpt ✗ perm fail 550 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 554 5.7.1 <user@example.com>: Relay access denied (in "
                "reply to RCPT TO command)",
            ),
            *_shows(
                "exim",
                f"** user@example.com R=dnslookup T=remote_smtp {_EXIM_H}: SMTP error from "
                "remote mail server after RCPT TO:<user@example.com>: 550 relay not permitted",
            ),
        ),
        CauseCode.CONNECTION_DROPPED: (
            *_shows("check", "rcpt ✗ closed after 12ms"),
            *_shows("postfix", f"lost connection with {_MX} while sending RCPT TO"),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (-18) {_EXIM_H}: Remote host closed connection in response "
                "to pipelined RCPT TO:<user@example.com>",
            ),
            *_shows("opensmtpd", "mta error reason=IO Error: Connection reset by peer"),
        ),
        CauseCode.PROTOCOL_VIOLATION: (*_shows("check", "greeting ✗ protocol error after 5ms"),),
        CauseCode.CONNECT_SLOW: (*_shows("check", "connect 1.0s (slow)"),),
        CauseCode.REPLY_SLOW: (*_shows("check", "rcpt 20.0s (slow)"),),
        CauseCode.TLS_CERT_EXPIRING: (
            *_shows("check", "certificate CN=mx.example.com, valid until 2026-12-10 (9 days)"),
        ),
        CauseCode.RATE_LIMITED: (
            *_shows("check", "rcpt ✗ temp fail 450 after 25ms"),
            # Gmail (support.google.com/a/answer/3726730) and Yahoo (senders.yahooinc.com
            # /smtp-error-codes) deferrals, as Postfix, Exim, Sendmail and OpenSMTPD log them.
            *_shows(
                "postfix",
                "host gmail-smtp-in.l.google.com[192.0.2.26] said: 421-4.7.28 [192.0.2.1] Our "
                "system has detected an unusual rate of 421-4.7.28 unsolicited mail originating "
                "from your IP address. To protect our 421-4.7.28 users from spam, mail sent from "
                "your IP address has been temporarily 421-4.7.28 rate limited. - gsmtp (in reply "
                "to end of DATA command)",
            ),
            *_shows(
                "exim",
                "== user@yahoo.com R=dnslookup T=remote_smtp defer (-45) H=mta7.am0.yahoodns.net "
                "[192.0.2.106]: SMTP error from remote mail server after pipelined MAIL "
                "FROM:<sender@example.org> SIZE=1758: 421 4.7.0 [TSS04] Messages from 192.0.2.1 "
                "temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; "
                "see https://postmaster.yahooinc.com/error-codes",
            ),
            *_shows(
                "sendmail",
                "stat=Deferred: 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred "
                "due to unexpected volume or user complaints - 4.16.55.1; see "
                "https://postmaster.yahooinc.com/error-codes",
            ),
            *_shows(
                "opensmtpd",
                'mta delivery result="TempFail" stat="450 4.2.1 The user you are trying to '
                "contact is receiving mail at a rate that prevents additional messages from "
                'being delivered. - gsmtp"',
            ),
            *_shows(
                "queue",
                f"(host {_MX} said: 450-4.2.1 The user you are trying to contact is receiving "
                "mail at a rate that prevents additional messages from being delivered. - gsmtp "
                "(in reply to RCPT TO command))",
            ),
        ),
        CauseCode.BLOCKLISTED: (
            *_shows("check", "greeting ✗ perm fail 554 after 25ms"),
            # Microsoft's S3150 (learn.microsoft.com, Exchange Online NDRs) and Postfix's
            # reject_rbl_client reply (smtpd_check.c).
            *_shows(
                "postfix",
                "host outlook-com.olc.protection.outlook.com[192.0.2.33] said: 550 5.7.1 "
                "Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
                "Internet service provider since part of their network is on our block list "
                "(S3150). (in reply to MAIL FROM command)",
            ),
            *_shows(
                "exim",
                f"** user@example.com R=dnslookup T=remote_smtp {_EXIM_H}: SMTP error from "
                "remote mail server after RCPT TO:<user@example.com>: 554 5.7.1 Service "
                "unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; "
                "https://www.spamhaus.org/query/ip/192.0.2.1",
            ),
            *_shows(
                "opensmtpd",
                'mta delivery result="PermFail" stat="553 5.7.1 [BL21] Connections will not be '
                "accepted from 192.0.2.1, because the ip is in Spamhaus's list; see "
                'https://postmaster.yahooinc.com/error-codes"',
            ),
            *_shows(
                "queue",
                f"(host {_MX} said: 554 5.7.1 Service unavailable; Client host [192.0.2.1] "
                "blocked using zen.spamhaus.org (in reply to RCPT TO command))",
            ),
        ),
        CauseCode.CLIENT_POLICY: (
            *_shows("check", "greeting ✗ temp fail 421 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 450 4.7.1 Client host rejected: cannot find your hostname, "
                "[192.0.2.1] (in reply to RCPT TO command)",
                f"host {_MX} refused to talk to me: 421 Refused. Your reverse DNS entry does not "
                "resolve.",
            ),
            *_shows(
                "exim",
                "** user@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com "
                "[192.0.2.26]: SMTP error from remote mail server after end of data: "
                "550-5.7.26 This mail has been blocked because the sender is unauthenticated. "
                "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. "
                "- gsmtp",
            ),
            *_shows(
                "opensmtpd",
                'mta delivery result="PermFail" stat="550 5.7.25 [192.0.2.1] The IP address '
                "sending this message does not have a PTR record setup, or the corresponding "
                'forward DNS entry does not point to the sending IP. - gsmtp"',
            ),
            *_shows(
                "queue",
                f"(host {_MX} said: 450 4.7.1 Client host rejected: cannot find your hostname, "
                "[192.0.2.1] (in reply to RCPT TO command))",
            ),
        ),
        CauseCode.MAILBOX_FULL: (
            *_shows("check", "rcpt ✗ temp fail 452 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 452-4.2.2 The email account that you tried to reach is over "
                "quota. - gsmtp (in reply to RCPT TO command)",
            ),
            *_shows(
                "exim",
                "== user@example.com R=localuser T=local_delivery defer (-22): mailbox is full "
                "(MTA-imposed quota exceeded while writing to /var/mail/user)",
            ),
            *_shows("sendmail", "stat=Deferred: 452 4.2.2 Mailbox full"),
            *_shows(
                "opensmtpd",
                'mta delivery result="PermFail" stat="552 5.2.2 <user@icloud.com>: user is over '
                'quota"',
            ),
            *_shows(
                "queue",
                f"(host {_MX} said: 452 4.2.2 The email account that you tried to reach is over "
                "quota. - gsmtp (in reply to RCPT TO command))",
            ),
        ),
        CauseCode.RECIPIENT_UNKNOWN: (
            *_shows("check", "rcpt ✗ perm fail 550 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 550 5.1.1 <user@example.com>: Recipient address rejected: "
                "User unknown in local recipient table (in reply to RCPT TO command)",
            ),
            *_shows(
                "exim",
                f"** user@example.com R=dnslookup T=remote_smtp {_EXIM_H}: SMTP error from "
                "remote mail server after RCPT TO:<user@example.com>: 550 5.1.1 "
                "<user@example.com>: Recipient address rejected: User unknown",
            ),
            *_shows("sendmail", "stat=User unknown"),
            *_shows(
                "opensmtpd",
                'mta delivery result="PermFail" stat="550 5.1.1 The email account that you '
                'tried to reach does not exist. - gsmtp"',
            ),
        ),
        CauseCode.REMOTE_ERROR: (
            *_shows("check", "rcpt ✗ temp fail 451 after 25ms"),
            *_shows(
                "postfix",
                f"host {_MX} said: 451 4.3.5 Server configuration problem (in reply to RCPT TO "
                "command)",
            ),
            *_shows(
                "exim",
                f"{_EXIM_DEFER} (-44) {_EXIM_H}: SMTP error from remote mail server after RCPT "
                "TO:<user@example.com>: 451 Temporary local problem - please try later",
            ),
            *_shows("sendmail", "stat=Deferred: 452 4.3.1 Insufficient system storage"),
            *_shows(
                "opensmtpd",
                'mta delivery result="TempFail" stat="451 4.3.0 Error: queue file write error"',
            ),
            *_shows(
                "queue",
                f"(host {_MX} said: 451 4.3.5 Server configuration problem (in reply to RCPT TO "
                "command))",
            ),
        ),
        CauseCode.RETRY_EXPIRED: (
            *_shows(
                "exim", "** user@example.com R=dnslookup T=remote_smtp: retry timeout exceeded"
            ),
            *_shows("sendmail", "stat=Deferred: Cannot send message for 5 days"),
        ),
        CauseCode.LOCAL_ADDRESS: (
            *_shows("check", "connect ✗ local address after 0.1ms"),
            *_shows(
                "postfix",
                "connect to mx.example.com[2001:db8::10]:25: Cannot assign requested address",
            ),
            *_shows("exim", f"{_EXIM_DEFER} (99): Cannot assign requested address"),
            *_shows(
                "queue",
                "(connect to mx.example.com[2001:db8::10]:25: Cannot assign requested address)",
            ),
        ),
        # postqueue's own line (mail log and stderr) from a real Postfix 3.7, master stopped
        CauseCode.MTA_STOPPED: (
            *_shows("postfix", "fatal: Queue report unavailable - mail system is down"),
        ),
    }
)


CATALOGUE: Mapping[CauseCode, CauseInfo] = MappingProxyType(
    {e.code: replace(e, shows_as=SHOWS_AS.get(e.code, ())) for e in _ENTRIES}
)


def describe(code: CauseCode | str) -> CauseInfo:
    """The catalogue entry for a code; raises KeyError for an unknown code."""
    return CATALOGUE[CauseCode(code)]
