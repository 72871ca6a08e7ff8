pub mod analyze;
pub mod check;
pub mod client;
pub mod lab;
pub mod packages;
pub mod shrink;
mod shrink_report;
pub mod system;
pub mod txn;
