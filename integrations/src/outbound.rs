//! Calls Reach makes to addresses an operator or an account admin chose (the platform; webhooks
//! later): the [`OutboundPolicy`] saying which destinations may be called, the address
//! classifier behind it, a reqwest client that connects only to addresses the policy passed, and
//! a capped body read.
//!
//! The check runs after DNS resolution, inside the client's resolver, on the very addresses the
//! client then connects to: a name that resolves to a public address while checked and to
//! `127.0.0.1` a moment later (a DNS rebind) cannot slip through, because there is no second
//! lookup. Addresses written in the URL bypass resolvers, so [`OutboundPolicy::check_url`] checks
//! them before any request. Redirects are never followed and proxies from the environment are
//! not used (a proxy would connect on Reach's behalf to an address Reach never checked).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Default cap on one reply's body: 4 MiB (a page of 10,000 numbers is about 1.5 MB).
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 4 * 1024 * 1024;

/// One entry of an allow list: a host name (exact, case-insensitive), or an address or a
/// network in CIDR form (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// A host name as written in URLs; every address it resolves to is allowed.
    Host(String),
    /// The addresses within `prefix` bits of `addr`.
    Net {
        /// The network's address.
        addr: IpAddr,
        /// Its prefix length.
        prefix: u8,
    },
}

impl std::str::FromStr for Allowed {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let literal = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
            };
            return Ok(Self::Net { addr: ip, prefix });
        }
        let host = s.trim_end_matches('.');
        let is_name = !host.is_empty()
            && prefix.is_none()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if is_name {
            Ok(Self::Host(host.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{s:?} is neither a host name, an address nor an address/prefix"
            ))
        }
    }
}

impl Allowed {
    fn matches(&self, host: &str, ip: IpAddr) -> bool {
        match self {
            Self::Host(name) => host.trim_end_matches('.').eq_ignore_ascii_case(name),
            Self::Net { addr, prefix } => in_net(ip, *addr, *prefix),
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let same = |a: u128, b: u128, bits: u32| {
        let shift = bits.saturating_sub(u32::from(prefix));
        a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => same(u32::from(a).into(), u32::from(n).into(), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => same(a.into(), n.into(), 128),
        // `::ffff:127.0.0.1` is 127.0.0.1 to the network stack.
        (IpAddr::V6(a), IpAddr::V4(_)) => a.to_ipv4_mapped().is_some_and(|a| in_net(a.into(), net, prefix)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one. IPv6 forms that carry an
/// IPv4 address (mapped, 6to4, NAT64) are judged by the address they carry.
pub fn restricted(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => restricted_v6(v6),
    }
}

fn restricted_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "an unspecified (\"this network\")"),
        ([10, 0, 0, 0], 8, "a private"),
        ([100, 64, 0, 0], 10, "a shared (carrier-grade NAT)"),
        ([127, 0, 0, 0], 8, "a loopback"),
        ([169, 254, 0, 0], 16, "a link-local"),
        ([172, 16, 0, 0], 12, "a private"),
        ([192, 0, 0, 0], 24, "a protocol-assignment"),
        ([192, 0, 2, 0], 24, "a documentation"),
        ([192, 88, 99, 0], 24, "a 6to4 relay"),
        ([192, 168, 0, 0], 16, "a private"),
        ([198, 18, 0, 0], 15, "a benchmarking"),
        ([198, 51, 100, 0], 24, "a documentation"),
        ([203, 0, 113, 0], 24, "a documentation"),
        ([224, 0, 0, 0], 4, "a multicast"),
        // 240/4 is reserved and ends with 255.255.255.255, the broadcast address.
        ([240, 0, 0, 0], 4, "a reserved or broadcast"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_net(ip.into(), Ipv4Addr::from(*net).into(), *prefix))
        .map(|(_, _, kind)| *kind)
}

fn restricted_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let within = |net: u128, prefix: u8| in_net(ip.into(), Ipv6Addr::from(net).into(), prefix);
    let embedded = |shift: u32| Ipv4Addr::from(((bits >> shift) & 0xffff_ffff) as u32);
    if ip.is_unspecified() {
        Some("an unspecified")
    } else if ip.is_loopback() {
        Some("a loopback")
    } else if let Some(v4) = ip.to_ipv4_mapped() {
        restricted_v4(v4)
    } else if within(0, 96) {
        Some("an IPv4-compatible (deprecated)")
    } else if within(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        // NAT64: the gateway connects to the IPv4 address in the last 32 bits.
        restricted_v4(embedded(0))
    } else if within(0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48) {
        Some("a local-use NAT64")
    } else if within(0x0100_0000_0000_0000_0000_0000_0000_0000, 64) {
        Some("a discard-only")
    } else if within(0x2001_0db8_0000_0000_0000_0000_0000_0000, 32) {
        Some("a documentation")
    } else if within(0x2001_0000_0000_0000_0000_0000_0000_0000, 32) {
        Some("a Teredo")
    } else if within(0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        // 6to4: the relay connects to the IPv4 address in bits 16–48.
        restricted_v4(embedded(80))
    } else if within(0xfc00_0000_0000_0000_0000_0000_0000_0000, 7) {
        Some("a unique-local")
    } else if within(0xfe80_0000_0000_0000_0000_0000_0000_0000, 10) {
        Some("a link-local")
    } else if within(0xfec0_0000_0000_0000_0000_0000_0000_0000, 10) {
        Some("a site-local (deprecated)")
    } else if within(0xff00_0000_0000_0000_0000_0000_0000_0000, 8) {
        Some("a multicast")
    } else {
        None
    }
}

/// Why the policy refused a destination. The text names Reach's own settings and the address
/// the caller gave; it is safe for the person who configured the destination, and logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `http://` while plain http is not allowed.
    #[error("must be an https:// URL (plain http:// only where allow_http is set)")]
    PlainHttp,
    /// A scheme other than http(s), or no host.
    #[error("must be an https:// URL with a host")]
    NotHttp,
    /// An address that is not public and not on the allow list.
    #[error("{host} is {kind} address, which is not allowed unless listed in allow_destinations")]
    Address {
        /// The host as written.
        host: String,
        /// The address refused.
        ip: IpAddr,
        /// What kind of address it is.
        kind: &'static str,
    },
}

/// Where outbound calls may go and how much of a reply is read. The default refuses plain
/// http and every non-public address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Whether `http://` may be called.
    pub allow_http: bool,
    /// Hosts and networks that may be called even though they are not public.
    pub allowed: Vec<Allowed>,
    /// Largest reply body read, in bytes.
    pub max_reply_bytes: u64,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allowed: Vec::new(),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }
}

impl OutboundPolicy {
    /// Whether `ip`, reached through `host`, may be called.
    pub fn permits(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let Some(kind) = restricted(ip) else {
            return Ok(());
        };
        if self.allowed.iter().any(|a| a.matches(host, ip)) {
            return Ok(());
        }
        Err(Refused::Address {
            host: host.to_owned(),
            ip,
            kind,
        })
    }

    /// The URL's scheme, and its host when it is an address (resolvers never see those).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refused::PlainHttp),
            _ => return Err(Refused::NotHttp),
        }
        let host = url.host_str().unwrap_or_default();
        if host.is_empty() {
            return Err(Refused::NotHttp);
        }
        // The URL parser writes every IPv4 form (`2130706433`, `0x7f.1`) as dotted decimal and
        // IPv6 in brackets, so a literal is always recognised here.
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        match literal.parse::<IpAddr>() {
            Ok(ip) => self.permits(host, ip),
            Err(_) => Ok(()),
        }
    }

    /// A client that answers within `timeout`, follows no redirect, uses no proxy, and
    /// connects only to addresses this policy permits.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!self.allow_http)
            .dns_resolver(Arc::new(Guarded(Arc::new(self.clone()))))
            .build()
    }
}

/// The resolver of [`OutboundPolicy::client`]: the system's lookup, keeping only the addresses
/// the policy permits; none left is an error carrying the [`Refused`].
struct Guarded(Arc<OutboundPolicy>);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let mut kept: Vec<SocketAddr> = Vec::new();
            let mut refused = None;
            for addr in tokio::net::lookup_host((host.as_str(), 0)).await? {
                match policy.permits(&host, addr.ip()) {
                    Ok(()) => kept.push(addr),
                    Err(e) => refused = Some(e),
                }
            }
            match refused {
                Some(e) if kept.is_empty() => Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

/// The policy's refusal behind a failed request, if that is why it failed.
pub fn refusal(e: &reqwest::Error) -> Option<&Refused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<Refused>() {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

/// `e` with its causes, for the log.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Past the cap (announced or read).
    #[error("the reply is over {0} bytes")]
    TooLarge(u64),
    /// The connection failed or timed out mid-way.
    #[error(transparent)]
    Network(#[from] reqwest::Error),
}

/// The body of `response`, read chunk by chunk and given up as soon as it passes `max` bytes
/// (a `Content-Length` over the cap is refused before reading; a missing or false one changes
/// nothing).
pub async fn read_capped(mut response: reqwest::Response, max: u64) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(ReadError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(ReadError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
