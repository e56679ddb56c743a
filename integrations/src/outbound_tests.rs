//! The address classifier and the allow list (issue 16 item 6): pure functions, no connection
//! is made.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn url(text: &str) -> reqwest::Url {
    reqwest::Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

// issue 16 item 6: every non-public range is refused by default.
#[test]
fn every_non_public_range_is_refused() {
    for (addr, kind) in [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("100.64.0.1", "carrier-grade"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.10", "documentation"),
        ("2001:db8::1", "documentation"),
        // IPv6 forms carrying a forbidden IPv4 address.
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:a9fe:a9fe::1", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("2001::1", "Teredo"),
    ] {
        let found = restricted(ip(addr));
        assert!(
            found.is_some_and(|k| k.contains(kind)),
            "{addr}: expected {kind}, got {found:?}"
        );
        let policy = OutboundPolicy::default();
        assert!(policy.permits("example.com", ip(addr)).is_err(), "{addr}");
    }
}

#[test]
fn public_addresses_pass() {
    for addr in [
        "1.1.1.1",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ] {
        assert_eq!(restricted(ip(addr)), None, "{addr}");
        assert!(OutboundPolicy::default().permits("example.com", ip(addr)).is_ok());
    }
}

#[test]
fn the_allow_list_takes_hosts_addresses_and_networks() {
    let parse = |s: &str| s.parse::<Allowed>();
    assert_eq!(
        parse("127.0.0.0/8"),
        Ok(Allowed::Net {
            addr: ip("127.0.0.0"),
            prefix: 8
        })
    );
    assert_eq!(
        parse("[::1]"),
        Ok(Allowed::Net {
            addr: ip("::1"),
            prefix: 128
        })
    );
    assert_eq!(
        parse("Platform.Internal."),
        Ok(Allowed::Host("platform.internal".into()))
    );
    assert!(parse("10.0.0.0/33").is_err());
    assert!(parse("").is_err());
    assert!(parse("http://x").is_err());
    assert!(parse("a b").is_err());

    let policy = OutboundPolicy {
        allowed: vec![
            parse("10.1.0.0/16").unwrap_or_else(|e| panic!("{e}")),
            parse("platform.internal").unwrap_or_else(|e| panic!("{e}")),
        ],
        ..Default::default()
    };
    assert!(policy.permits("x", ip("10.1.2.3")).is_ok());
    assert!(
        policy.permits("x", ip("::ffff:10.1.2.3")).is_ok(),
        "mapped form of a listed address"
    );
    assert!(policy.permits("x", ip("10.2.0.1")).is_err());
    assert!(policy.permits("PLATFORM.internal", ip("192.168.0.9")).is_ok());
    assert!(policy.permits("other.internal", ip("192.168.0.9")).is_err());
    let everything = OutboundPolicy {
        allowed: vec![parse("::/0").unwrap_or_else(|e| panic!("{e}"))],
        ..Default::default()
    };
    assert!(everything.permits("x", ip("fe80::1")).is_ok());
    assert!(
        everything.permits("x", ip("10.0.0.1")).is_err(),
        "an IPv6 network holds no IPv4"
    );
}

// issue 16 item 6: https only unless allowed; literal addresses are checked before any request.
#[test]
fn urls_are_https_and_literal_addresses_are_checked() {
    let strict = OutboundPolicy::default();
    assert!(strict.check_url(&url("https://mx.example.com/api")).is_ok());
    assert_eq!(strict.check_url(&url("http://mx.example.com")), Err(Refused::PlainHttp));
    assert_eq!(strict.check_url(&url("ftp://mx.example.com")), Err(Refused::NotHttp));
    for literal in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1",
        "https://[::1]:22",
        "https://127.0.0.1:5432",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://[::ffff:a00:1]/",
    ] {
        assert!(
            matches!(strict.check_url(&url(literal)), Err(Refused::Address { .. })),
            "{literal}"
        );
    }
    assert!(strict.check_url(&url("https://93.184.216.34")).is_ok());
    let tests = OutboundPolicy {
        allow_http: true,
        allowed: vec![Allowed::Net {
            addr: ip("127.0.0.0"),
            prefix: 8,
        }],
        ..Default::default()
    };
    assert!(tests.check_url(&url("http://127.0.0.1:9000")).is_ok());
    assert!(
        tests.check_url(&url("http://[::1]:9000")).is_err(),
        "only what is listed"
    );
}
