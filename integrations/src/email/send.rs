//! The SMTP side: the transport with the configured TLS and timeout (`smtp`), the message of
//! one delivery (plain text and HTML, a stable `Message-ID`), and what a failure means.

use std::time::{Duration, Instant};

use lettre::{
    Message,
    message::{Mailbox, MultiPart, header},
};

use super::{
    observe::{EmailObserver, FailureClass},
    render::Rendered,
    smtp::{self, SendError},
};
use crate::settings::EmailSettings;

/// The pooled SMTP client.
pub type Transport = smtp::Transport;

/// Builds the transport for `url` (`smtp://[user:password@]host[:port]` or `smtps://…`).
pub fn transport(url: &str, settings: &EmailSettings) -> Result<Transport, String> {
    Transport::new(url, settings.tls_mode(url), settings)
}

/// The domain of the sender's address, which ends every `Message-ID`.
pub fn message_id_domain(from: &Mailbox) -> String {
    from.email.domain().to_owned()
}

/// The message of one delivery.
pub fn message(from: &Mailbox, to: Mailbox, message_id: &str, mail: &Rendered) -> Result<Message, String> {
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .header(header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// What a failed send means for the delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The server refused this message for good (5xx): do not try again.
    Permanent(String),
    /// The server asked to try later (4xx).
    Temporary(String),
    /// The server could not be reached, did not answer in time or refused the session (auth,
    /// 421): try later without counting it against the message, and wait before the next one.
    Unreachable(String),
}

/// Sends `message`, giving up after `budget` (the connect timeout covers only the connection);
/// `observer` is told how long the send took and, if it failed, the failure's class.
pub async fn send(
    transport: &Transport,
    message: Message,
    budget: Duration,
    observer: &dyn EmailObserver,
) -> Result<(), Failure> {
    let started = Instant::now();
    let sent = match tokio::time::timeout(budget, transport.send(&message)).await {
        Ok(Ok(())) => Ok(()),
        // Worded as lettre words its connection errors, as before Reach opened the socket.
        Ok(Err(SendError::Connect(e))) => Err((
            FailureClass::Connection,
            Failure::Unreachable(format!("Connection error: {e}")),
        )),
        Ok(Err(SendError::Smtp(e))) => Err(classify(&e)),
        Err(_) => Err((
            FailureClass::Timeout,
            Failure::Unreachable(format!("timed out: no answer within {} ms", budget.as_millis())),
        )),
    };
    observer.sent(started.elapsed(), sent.as_ref().err().map(|(class, _)| *class));
    sent.map_err(|(_, failure)| failure)
}

/// Refusals of the session rather than of the message: authentication (530, 534, 535, 538) and
/// the server closing (421). They say nothing about the recipient, so they must not fail it.
const SESSION_CODES: [&str; 5] = ["421", "530", "534", "535", "538"];

fn classify(e: &lettre::transport::smtp::Error) -> (FailureClass, Failure) {
    let text = e.to_string();
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    if SESSION_CODES.contains(&code.as_str()) {
        (FailureClass::Session, Failure::Unreachable(text))
    } else if e.is_permanent() {
        (FailureClass::Permanent, Failure::Permanent(text))
    } else if e.is_transient() {
        (FailureClass::Transient, Failure::Temporary(text))
    } else {
        // No SMTP answer at all: TLS, a reset or closed connection, a reply that did not parse.
        (FailureClass::Connection, Failure::Unreachable(text))
    }
}
