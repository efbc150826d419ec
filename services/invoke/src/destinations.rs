//! Where HTTP Tasks may go. Whoever writes a state machine chooses an HTTP Task's ApiEndpoint,
//! so two checks stand between that choice and the service's network and secrets:
//! - addresses: unless `integrations.http.allow_private_destinations` is set, an HTTP Task
//!   connects only to public addresses. The check is made on the addresses the connector is
//!   about to use (the [`Resolver`] filters what DNS answers, [`check_literal`] covers IP
//!   literals, which hyper never resolves), so a name that resolves to 127.0.0.1 or changes its
//!   answer between two lookups cannot slip through;
//! - endpoints: a connection's credentials go only to the URL prefixes its
//!   `allowed_endpoints` lists ([`EndpointRule`]).
//!
//! Lambda endpoints and OAuth token endpoints come from the operator's settings, not from a
//! definition, and are not checked here.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::dns::Name;

use super::Error;

/// Which addresses a client may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destinations {
    /// Any address (operator-configured endpoints, or private destinations allowed).
    Any,
    /// Public addresses only.
    PublicOnly,
}

/// The setting that lifts the address check, named in every refusal.
const SETTING: &str = "integrations.http.allow_private_destinations";

/// A destination refused because its address is not public.
#[derive(Debug)]
pub(crate) struct Refused {
    host: String,
    ip: IpAddr,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        if bare == self.ip.to_string() {
            write!(f, "the destination {} is not a public address", self.ip)?;
        } else {
            write!(
                f,
                "the destination {} resolves to {}, which is not a public address",
                self.host, self.ip
            )?;
        }
        write!(
            f,
            "; HTTP Tasks may call loopback, private and link-local addresses only when {SETTING} is true"
        )
    }
}

impl std::error::Error for Refused {}

/// True for addresses anyone on the internet could reach. False for the ones an HTTP Task
/// could use to reach this machine or its network: loopback, private, link-local (where cloud
/// metadata services answer), shared (carrier-grade NAT, often internal), unspecified,
/// multicast, reserved and documentation ranges, and IPv6 forms that embed such an IPv4 address.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let not_public = a == 0 // 0.0.0.0/8: Linux connects to the local host
        || ip.is_loopback() // 127.0.0.0/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16
        || (a == 100 && (b & 0xc0) == 64) // 100.64/10
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24, IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18/15, benchmarking
        || ip.is_documentation()
        || ip.is_multicast() // 224/4
        || a >= 240; // 240/4 reserved, 255.255.255.255 broadcast
    !not_public
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if let Some(v4) = ip.to_ipv4_mapped() {
        // ::ffff:a.b.c.d reaches a.b.c.d on a dual-stack socket.
        return is_public_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (64:ff9b::/96) translates to the embedded IPv4 address.
        return is_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 (2002::/16) routes to the IPv4 address in bits 16..48.
        return is_public_v4(embedded(s[1], s[2]));
    }
    let not_public = s[..6] == [0, 0, 0, 0, 0, 0] // ::, ::1 and deprecated IPv4-compatible
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 deprecated site-local
        || (s[0] & 0xff00) == 0xff00 // ff00::/8 multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32 documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // 100::/64 discard
    !not_public
}

/// Refuses an IP-literal host that is not public. hyper connects to IP literals without asking
/// the resolver, so they are checked here, parsed exactly as hyper parses them.
pub(crate) fn check_literal(uri: &Uri) -> Result<(), Error> {
    let Some(host) = uri.host() else {
        return Ok(());
    };
    let ip = match host.parse::<Ipv4Addr>() {
        Ok(v4) => IpAddr::V4(v4),
        Err(_) => match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
        {
            Ok(v6) => IpAddr::V6(v6),
            Err(_) => return Ok(()),
        },
    };
    if is_public(ip) {
        return Ok(());
    }
    Err(Error::PrivateDestination(
        Refused {
            host: host.to_owned(),
            ip,
        }
        .to_string(),
    ))
}

/// The refusal somewhere in `error`'s chain of sources, as the connector reports it.
pub(crate) fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused.to_string());
        }
        current = cause.source();
    }
    None
}

/// The DNS resolver of hyper's connector: the system's resolver (as hyper's own), then, for
/// [`Destinations::PublicOnly`], only the public addresses among the answers. A name with no
/// public address fails with [`Refused`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolver {
    destinations: Destinations,
}

impl Resolver {
    pub(crate) fn new(destinations: Destinations) -> Self {
        Self { destinations }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let destinations = self.destinations;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // Port 0: the connector puts the URL's port in.
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if destinations == Destinations::Any {
                return Ok(addresses.into_iter());
            }
            let (public, private): (Vec<SocketAddr>, Vec<SocketAddr>) = addresses
                .into_iter()
                .partition(|address| is_public(address.ip()));
            match (public.is_empty(), private.first()) {
                (true, Some(first)) => Err(Box::new(Refused {
                    host,
                    ip: first.ip(),
                }) as BoxError),
                _ => Ok(public.into_iter()),
            }
        })
    }
}

/// One entry of a connection's `allowed_endpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndpointRule {
    /// `"*"`: anywhere.
    Any,
    /// Same scheme, host and port; the path at or below `path`.
    Prefix {
        scheme: String,
        /// Lowercase.
        host: String,
        port: u16,
        /// Empty for a whole origin; else starts with `/`.
        path: String,
    },
}

impl EndpointRule {
    /// Reads one entry; the message says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::Any);
        }
        super::check_base_url(text, "allowed_endpoints entry")
            .map_err(|error| error.to_string())?;
        if text.contains(['?', '#']) {
            return Err(format!(
                "allowed_endpoints entry '{text}' must not have a query or fragment"
            ));
        }
        let uri = text
            .parse::<Uri>()
            .map_err(|_| format!("allowed_endpoints entry '{text}' is not a URL"))?;
        let (scheme, host, port) =
            origin(&uri).ok_or_else(|| format!("allowed_endpoints entry '{text}' has no host"))?;
        let path = uri.path().trim_end_matches('/');
        if has_dot_segment(path) {
            return Err(format!(
                "allowed_endpoints entry '{text}' must not have . or .. segments"
            ));
        }
        // A prefix written with a trailing slash allows what is below it; one without also
        // allows itself. Either way matching stops at a segment boundary.
        Ok(Self::Prefix {
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// Whether a request to `uri` may carry the connection's credentials.
    pub(crate) fn allows(&self, uri: &Uri) -> bool {
        let Self::Prefix {
            scheme,
            host,
            port,
            path,
        } = self
        else {
            return true;
        };
        let Some((uri_scheme, uri_host, uri_port)) = origin(uri) else {
            return false;
        };
        if (&uri_scheme, &uri_host, uri_port) != (scheme, host, *port) {
            return false;
        }
        if path.is_empty() {
            return true;
        }
        // Servers collapse `/v1/../admin` to `/admin`: a path that climbs cannot be matched by
        // its text.
        let requested = uri.path();
        if has_dot_segment(requested) {
            return false;
        }
        match requested.strip_prefix(path.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

/// Scheme, lowercase host and effective port.
fn origin(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(match scheme.as_str() {
        "https" => 443,
        _ => 80,
    });
    Some((scheme, host, port))
}

/// A `.` or `..` segment, plain or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        match text.parse() {
            Ok(ip) => ip,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "192.0.2.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(!is_public(ip(private)), "{private} counted as public");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "203.0.114.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
            "2002:0101:0101::1",
        ] {
            assert!(is_public(ip(public)), "{public} counted as private");
        }
    }

    #[test]
    fn literals_are_checked_as_hyper_reads_them() {
        let check = |url: &str| check_literal(&url.parse::<Uri>().unwrap_or_default());
        assert!(check("http://127.0.0.1:9000/metrics").is_err());
        assert!(check("http://[::1]:8083/").is_err());
        assert!(check("http://[::ffff:169.254.169.254]/latest").is_err());
        assert!(check("https://1.1.1.1/").is_ok());
        // Names go through the resolver, which checks what they resolve to.
        assert!(check("http://localhost/").is_ok());
        let Err(Error::PrivateDestination(message)) = check("http://10.0.0.1/") else {
            panic!("10.0.0.1 allowed")
        };
        assert!(message.contains(SETTING), "{message}");
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers() {
        use tower_service::Service as _;
        let Ok(localhost) = "localhost".parse::<Name>() else {
            panic!("localhost is not a name")
        };
        let mut public_only = Resolver::new(Destinations::PublicOnly);
        let refused = public_only.call(localhost.clone()).await;
        let Err(error) = refused else {
            panic!("localhost resolved for a public-only client")
        };
        let message = refusal(error.as_ref());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("localhost resolves to")),
            "{message:?}"
        );
        let mut any = Resolver::new(Destinations::Any);
        let resolved = any.call(localhost).await;
        assert!(resolved.is_ok_and(|mut addresses| addresses.next().is_some()));
    }

    #[test]
    fn endpoint_rules_match_origin_and_path_segments() {
        let rule = |text: &str| match EndpointRule::parse(text) {
            Ok(rule) => rule,
            Err(error) => panic!("{error}"),
        };
        let allows = |rule: &EndpointRule, url: &str| {
            url.parse::<Uri>()
                .map(|uri| rule.allows(&uri))
                .unwrap_or(false)
        };
        let v1 = rule("https://API.example.com/v1/");
        assert!(allows(&v1, "https://api.example.com/v1/items?q=1"));
        assert!(allows(&v1, "https://api.example.com:443/v1"));
        assert!(!allows(&v1, "https://api.example.com/v10/items"));
        assert!(!allows(&v1, "https://api.example.com/v1/../admin"));
        assert!(!allows(&v1, "https://api.example.com/v1/%2E%2E/admin"));
        assert!(!allows(&v1, "http://api.example.com/v1/items"));
        assert!(!allows(&v1, "https://api.example.com:8443/v1/items"));
        assert!(!allows(&v1, "https://api.example.com.evil.test/v1/items"));
        assert!(!allows(&v1, "https://api.example.com@evil.test/v1/items"));
        let origin = rule("http://127.0.0.1:9000");
        assert!(allows(&origin, "http://127.0.0.1:9000/anything/../else"));
        assert!(!allows(&origin, "http://127.0.0.1:9001/"));
        assert!(allows(&rule("*"), "http://anywhere.test/"));
        for bad in [
            "api.example.com",
            "ftp://x/",
            "https://user:pw@x/",
            "https://x/?a=1",
            "https://x/a/../b",
        ] {
            assert!(EndpointRule::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
