//! Performance by design: a fixed number of statements per read and write, pages the database
//! builds, and concurrent writers.

mod built_pages;
mod concurrency;
mod direct;
mod queries;
mod writes;
