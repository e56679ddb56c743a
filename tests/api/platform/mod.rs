//! The communication platform: the connector against a stand-in platform, the outbound policy
//! through the API, and the sync.

mod connector;
mod outbound;
mod sync;
