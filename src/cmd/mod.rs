pub mod analyze;
pub mod check;
pub mod lab;
pub mod packages;
