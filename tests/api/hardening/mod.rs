//! Issue 16 (hardening) and fuzzing: hostile documents, input, clients and tokens.

mod documents;
mod fuzz;
mod input;
mod net;
mod tokens;
