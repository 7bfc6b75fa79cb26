//! DNS lookups for domain verification: the TXT records at one name, asked
//! of the configured server (`--dns-server`; the tests run their own) or of
//! the system's resolvers (resolv.conf). Nothing is cached: an Owner who
//! has just published a record and presses "Check now" must get today's
//! answer, not one remembered from a minute ago.

use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use crate::config::DnsConfig;

/// Each lookup is sent this many times before Roster gives up.
const ATTEMPTS: usize = 2;

/// Why DNS gave no answer (a name with no records is an answer: an empty
/// list).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("DNS did not answer in time")]
    Timeout,
    #[error("DNS could not be asked: {0}")]
    Failed(String),
}

/// The resolver Roster asks; cheap to clone.
#[derive(Clone)]
pub struct Dns {
    /// The resolver, or why none could be made (no resolv.conf, say): then
    /// every lookup reports it rather than the server refusing to start.
    resolver: Arc<Result<TokioResolver, String>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dns")
    }
}

impl Dns {
    pub fn new(config: &DnsConfig) -> Self {
        let resolver = build(config).inspect_err(|err| {
            tracing::warn!(%err, "no DNS resolver: domain verification will fail until this is fixed");
        });
        Self {
            resolver: Arc::new(resolver),
        }
    }

    /// The texts of the TXT records at `name` (each record's strings
    /// joined, as SPF does); empty when the name or its TXT records do not
    /// exist.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let resolver = match self.resolver.as_ref() {
            Ok(resolver) => resolver,
            Err(reason) => return Err(DnsError::Failed(reason.clone())),
        };
        // Fully qualified: the system's search domains play no part.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match resolver.txt_lookup(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(err) if err.is_nx_domain() || err.is_no_records_found() => Ok(Vec::new()),
            Err(NetError::Timeout) => Err(DnsError::Timeout),
            Err(err) => {
                tracing::warn!(%err, name, "a DNS lookup failed");
                Err(DnsError::Failed(err.to_string()))
            }
        }
    }
}

fn build(config: &DnsConfig) -> Result<TokioResolver, String> {
    let mut builder = match config.server {
        Some(server) => {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut connection| {
                    connection.port = server.port();
                    connection
                })
                .collect();
            let name_server = NameServerConfig::new(server.ip(), true, connections);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![name_server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|err| format!("failed to read the system's DNS settings: {err}"))?,
    };
    let options: &mut ResolverOpts = builder.options_mut();
    options.timeout = config.timeout;
    options.attempts = ATTEMPTS;
    options.cache_size = 0;
    options.positive_max_ttl = Some(Duration::ZERO);
    options.negative_max_ttl = Some(Duration::ZERO);
    options.use_hosts_file = ResolveHosts::Never;
    builder
        .build()
        .map_err(|err| format!("failed to set up the DNS resolver: {err}"))
}
