pub mod check;
pub mod lab;
pub mod packages;
pub mod analyze;
