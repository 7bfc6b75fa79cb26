//! A small SMTP server for the tests: it speaks enough of the protocol for
//! lettre to deliver to it, and keeps every message it receives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One delivered message.
#[derive(Clone, Debug)]
pub struct Received {
    pub recipients: Vec<String>,
    /// The message as sent, transfer encodings undone.
    pub text: String,
}

impl Received {
    /// The first invitation link in the message.
    pub fn invitation_link(&self) -> String {
        let start = self.text.find("http://").expect("a link in the message");
        let rest = &self.text[start..];
        let marker = rest.find("/invitations/").expect("an invitation link");
        let token: String = rest[marker + "/invitations/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        format!("{}/invitations/{token}", &rest[..marker])
    }

    /// The value of the header `name` (`Message-ID`, say), if the message
    /// has it.
    pub fn header(&self, name: &str) -> Option<String> {
        self.text
            .lines()
            .map(|line| line.trim_end_matches('\r'))
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (field, value) = line.split_once(':')?;
                field
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
    }

    /// The path of the invitation link.
    pub fn invitation_path(&self) -> String {
        let link = self.invitation_link();
        let at = link.find("/invitations/").expect("path");
        link[at..].to_string()
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// How long the sink takes before it accepts each message.
    delay: Duration,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        Self::serve(listener)
    }

    /// Starts a sink that takes `delay` over each message, like a slow
    /// mail server.
    pub async fn start_slow(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        Self::serve_with(listener, delay)
    }

    /// Starts a sink on `port` (one reserved earlier, say).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP on its port");
        Self::serve(listener)
    }

    /// A port with nothing listening on it (yet).
    pub fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    fn serve(listener: TcpListener) -> Self {
        Self::serve_with(listener, Duration::ZERO)
    }

    fn serve_with(listener: TcpListener, delay: Duration) -> Self {
        let sink = SmtpSink {
            port: listener.local_addr().expect("address").port(),
            received: Arc::default(),
            arrived: Arc::default(),
            delay,
        };
        let handle = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handle = handle.clone();
                tokio::spawn(async move {
                    let _ = handle.converse(stream).await;
                });
            }
        });
        sink
    }

    async fn converse(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut recipients = Vec::new();
        while let Some(line) = lines.next_line().await? {
            let command = line.to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                b"250 sink.test\r\n"
            } else if command.starts_with("MAIL FROM") {
                recipients.clear();
                b"250 OK\r\n"
            } else if command.starts_with("RCPT TO") {
                let address = line
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string())
                    .unwrap_or_default();
                recipients.push(address);
                b"250 OK\r\n"
            } else if command == "DATA" {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                tokio::time::sleep(self.delay).await;
                self.received.lock().expect("lock").push(Received {
                    recipients: recipients.clone(),
                    text: decode_quoted_printable(&data),
                });
                self.arrived.notify_waiters();
                b"250 OK queued\r\n"
            } else if command.starts_with("QUIT") {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                b"250 OK\r\n"
            };
            write.write_all(reply).await?;
        }
        Ok(())
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until `count` messages have arrived (10 s at most).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            let waited = tokio::time::timeout_at(deadline, async {
                let notified = self.arrived.notified();
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            })
            .await;
            assert!(
                waited.is_ok(),
                "expected {count} messages, got {}",
                self.messages().len()
            );
        }
    }

    /// Waits (10 s at most) for a message to `address` whose text has
    /// `containing` (a link's path, say); returns the last such.
    pub async fn wait_to(&self, address: &str, containing: &str) -> Received {
        for _ in 0..200 {
            if let Some(found) = self.all_to(address, containing).pop() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message to {address} arrived");
    }

    /// Every message to `address` whose text has `containing`, in order.
    pub fn all_to(&self, address: &str, containing: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .filter(|m| m.text.contains(containing))
            .collect()
    }

    /// The last message to `address`.
    pub fn last_to(&self, address: &str) -> Received {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .unwrap_or_else(|| panic!("no message to {address}"))
    }
}

/// Undoes quoted-printable soft breaks and escapes (headers and 7-bit text
/// pass through unchanged).
fn decode_quoted_printable(data: &str) -> String {
    let joined = data.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
