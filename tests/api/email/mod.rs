//! The email plugin against a real SMTP server: delivery, its connections, and real processes.

mod delivery;
mod process;
mod wire;
