//! A small DNS server for the tests: it answers TXT questions from a table
//! the test controls (a name missing from it is NXDOMAIN), over UDP and
//! TCP on one local port, and remembers the names it was asked about.
//! Roster is pointed at it with `config.dns.server`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use roster::config::DnsConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

#[derive(Clone)]
pub struct DnsServer {
    pub addr: SocketAddr,
    /// TXT texts by lower-case name without the final dot.
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl DnsServer {
    /// Starts a server on a free local port (UDP and TCP).
    pub async fn start() -> Self {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
            let port = udp.local_addr().expect("address").port();
            // The same port for TCP; another process may hold it: retry.
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        let server = Self {
            addr: udp.local_addr().expect("address"),
            records: Arc::default(),
            asked: Arc::default(),
        };
        let udp = Arc::new(udp);
        let answering = server.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((len, from)) = udp.recv_from(&mut buf).await {
                if let Some(reply) = answering.answer(&buf[..len]) {
                    let _ = udp.send_to(&reply, from).await;
                }
            }
        });
        let answering = server.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let answering = answering.clone();
                tokio::spawn(async move {
                    loop {
                        let mut len = [0u8; 2];
                        if stream.read_exact(&mut len).await.is_err() {
                            return;
                        }
                        let mut query = vec![0u8; u16::from_be_bytes(len) as usize];
                        if stream.read_exact(&mut query).await.is_err() {
                            return;
                        }
                        let Some(reply) = answering.answer(&query) else {
                            return;
                        };
                        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                        framed.extend(reply);
                        if stream.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        server
    }

    /// A port where something holds UDP but never answers: every lookup
    /// times out. The socket lives as long as the returned guard.
    pub async fn silent() -> (SocketAddr, UdpSocket) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        (socket.local_addr().expect("address"), socket)
    }

    /// Roster's settings to ask this server, with a short timeout.
    pub fn config(&self) -> DnsConfig {
        config_for(self.addr)
    }

    /// Publishes a TXT record (another text at a name adds to it).
    pub fn publish(&self, name: &str, text: &str) {
        self.records
            .lock()
            .unwrap()
            .entry(name.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(text.to_string());
    }

    /// The names asked about so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    fn answer(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let request = Message::from_vec(bytes).ok()?;
        if request.metadata.message_type != MessageType::Query {
            return None;
        }
        let query = request.queries.first()?.clone();
        let name = query
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.asked.lock().unwrap().push(name.clone());
        let texts = self.records.lock().unwrap().get(&name).cloned();
        let id = request.metadata.id;
        let op_code = request.metadata.op_code;
        let mut reply = match texts {
            None => Message::error_msg(id, op_code, ResponseCode::NXDomain),
            Some(texts) => {
                let mut reply = Message::response(id, op_code);
                if query.query_type() == RecordType::TXT {
                    for text in texts {
                        reply.add_answer(Record::from_rdata(
                            query.name().clone(),
                            0,
                            RData::TXT(TXT::new(vec![text])),
                        ));
                    }
                }
                reply
            }
        };
        reply.metadata.authoritative = true;
        reply.metadata.recursion_desired = request.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.add_query(query);
        reply.to_vec().ok()
    }
}

/// Settings that send Roster's DNS questions to `addr`, with a timeout
/// short enough for tests.
pub fn config_for(addr: SocketAddr) -> DnsConfig {
    DnsConfig {
        server: Some(addr),
        timeout: Duration::from_secs(1),
    }
}
